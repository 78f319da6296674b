"""The month / total report: priced runs summed into months and totals, authorization and
certification needs, and the flags a reader must see. Pure functions of the priced runs (a run
is `count` identical units), the cost terms and the schedule; `coverage.estimate` assembles
them into scenarios.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from itertools import groupby
from operator import attrgetter
from typing import Literal, NamedTuple

from msgspec import Struct

from coverage.levels import LEVELS, Level, category_key
from coverage.money import format_usd
from coverage.plans import LoadedPlan
from coverage.pricing.kept import KeptFor
from coverage.pricing.parts import AMOUNTS, CLIENT_PARTS, MEMBER_COST, BreakdownAmounts
from coverage.pricing.run_engine import PricedRun
from coverage.pricing.terms import CostTerms, StartingAccumulators
from coverage.schedule import Phase


class CostBreakdown(BreakdownAmounts, kw_only=True):  # type: ignore[misc, valid-type]
    """Units and every amount of coverage.pricing.parts, summed over some priced units."""


class AccumulatorPosition(Struct, kw_only=True):
    plan_year_start: dt.date
    deductible_met_cents: int
    deductible_remaining_cents: int | None  # None: the client has no coverage in this network
    oop_met_cents: int
    oop_remaining_cents: int | None  # None: no out-of-pocket maximum
    # Family tier, only when the plan has one (None otherwise): a met family deductible must not
    # read as the client's own deductible left.
    family_deductible_met_cents: int | None = None
    family_deductible_remaining_cents: int | None = None
    family_oop_met_cents: int | None = None
    family_oop_remaining_cents: int | None = None


class MonthSummary(CostBreakdown, kw_only=True):
    month: str
    accumulators: AccumulatorPosition


class AuthorizationNeed(Struct, kw_only=True):
    level: Level
    category_key: str
    first_unit_date: dt.date
    units: int
    initial_units: int
    review_every_units: int
    review_dates: list[dt.date]
    units_at_risk: int
    no_auth_policy: str


class CertificationReminder(Struct, kw_only=True, frozen=True):  # frozen: estimates share them
    level: Level
    date: dt.date
    kind: Literal["certification", "recertification"]
    rule: str


class Flag(Struct, kw_only=True):
    code: str
    severity: Literal["info", "warning"]
    message: str


class LevelSummary(CostBreakdown, kw_only=True):
    """One level's part of a scenario (all its phases), e.g. what the IOP weeks cost."""

    level: Level
    weeks: int


_SUMMED_AMOUNTS = tuple(f"{part.name}_cents" for part in AMOUNTS if part != MEMBER_COST)


_AMOUNTS_OF = attrgetter(*_SUMMED_AMOUNTS)
_CLIENT_PAYS = tuple(part in CLIENT_PARTS for part in AMOUNTS if part != MEMBER_COST)


# What one unit adds to a sum: (breakdown field, amount) pairs, fields left out adding nothing.
PerUnit = tuple[tuple[str, int], ...]


@lru_cache(maxsize=4096)
def _nonzero(amounts: tuple[int, ...]) -> PerUnit:
    """A unit's amounts (`_AMOUNTS_OF`) as what it adds to a sum: one unit, its non-zero amounts
    and what the client pays of them (member_cost). Most amounts of most runs are zero and a
    scenario's runs repeat a few price lists, so this is worked out once per list of amounts."""
    member_cost = sum(amount for amount, client in zip(amounts, _CLIENT_PAYS, strict=True) if client)
    named = [(name, amount) for name, amount in zip(_SUMMED_AMOUNTS, amounts, strict=True) if amount]
    return (("units", 1), *named, *([("member_cost_cents", member_cost)] if member_cost else []))


def _add(sums: dict[str, int], per_unit: PerUnit, units: int) -> None:
    """Add `units` units to a breakdown's keyword arguments (a field left out is 0): summed in a
    dict and handed to the breakdown once, cheaper than adding field by field."""
    for name, amount in per_unit:
        sums[name] = sums.get(name, 0) + units * amount


def summarize(runs: Iterable[PricedRun]) -> CostBreakdown:
    """The sum of priced runs."""
    sums: dict[str, int] = {}
    for run in runs:
        _add(sums, _nonzero(_AMOUNTS_OF(run)), run.count)
    return CostBreakdown(**sums)


def level_summaries(phases: list[Phase], priced: list[PricedRun]) -> tuple[list[LevelSummary], CostBreakdown]:
    """Each level's weeks and cost in pathway order, so a reader can say "about $X a month during
    IOP", and the scenario's totals: the sum of its levels."""
    weeks: dict[Level, int] = {}
    for phase in phases:
        weeks[phase.level] = weeks.get(phase.level, 0) + phase.weeks
    sums: dict[Level, dict[str, int]] = {level: {} for level in weeks}
    for run in priced:
        _add(sums[run.level], _nonzero(_AMOUNTS_OF(run)), run.count)
    levels = [LevelSummary(level=level, weeks=total, **sums[level]) for level, total in weeks.items()]
    return levels, CostBreakdown(**_merged(sums.values()))


def _merged(sums: Iterable[dict[str, int]]) -> dict[str, int]:
    """The sum of `_add`'s sums."""
    merged: dict[str, int] = {}
    for part in sums:
        for name, amount in part.items():
            merged[name] = merged.get(name, 0) + amount
    return merged


def _month_number(day: dt.date) -> int:
    """Months since year 0: consecutive months have consecutive numbers."""
    return day.year * 12 + day.month - 1


def _month_start(number: int) -> dt.date:
    year, month_index = divmod(number, 12)
    return dt.date(year, month_index + 1, 1)


class _Month(NamedTuple):
    """What a calendar month of a report needs besides its runs: the same for every request."""

    label: str  # "2026-03"
    next_start: dt.date  # the day after the month
    plan_year: dt.date  # the plan year the month's last day falls in
    # On its last day (a successor plan's after a renewal): individual deductible and out-of-pocket
    # maximum, family deductible and out-of-pocket maximum; None: no coverage in this network.
    limits: tuple[int | None, int | None, int | None, int | None] | None


_month_frames: KeptFor[CostTerms, tuple[_Month, ...]] = KeptFor(1024)  # (terms, first month, months)


def _months(terms: CostTerms, first: int, months: int) -> tuple[_Month, ...]:
    """Months `first`.. (month numbers) on these terms, worked out once per terms and span."""

    def frame() -> tuple[_Month, ...]:
        found = []
        for number in range(first, first + months):
            next_start = _month_start(number + 1)
            month_end = next_start - dt.timedelta(days=1)
            found.append(
                _Month(
                    f"{month_end.year:04d}-{month_end.month:02d}",
                    next_start,
                    terms.plan_year_start.plan_year_of(month_end),
                    _limits(terms.on(month_end)),
                )
            )
        return tuple(found)

    return _month_frames.get(terms, (first, months), frame)


def _limits(terms: CostTerms) -> tuple[int | None, int | None, int | None, int | None] | None:
    limits = terms.limits
    if limits is None:
        return None
    return (
        limits.deductible_individual_cents,
        limits.oop_max_individual_cents,
        limits.deductible_family_cents,
        limits.oop_max_family_cents,
    )


def _by_month(
    priced: list[PricedRun], first: int, frame: tuple[_Month, ...]
) -> tuple[list[dict[str, int]], list[tuple[PricedRun, int] | None]]:
    """Per month of `frame` (from month number `first`): the sum of its units (`_add`'s) and its
    last unit as (run, its index in the run), None for no unit. One pass over the runs, each
    run's amounts looked up once however many months it spans."""
    sums: list[dict[str, int]] = [{} for _ in frame]
    lasts: list[tuple[PricedRun, int] | None] = [None] * len(frame)
    for run in priced:
        amounts = _nonzero(_AMOUNTS_OF(run))
        month = _month_number(run.date) - first
        done = 0  # units of the run in earlier months
        while done < run.count:
            upto = min(run.count, run.days.count_before(frame[month].next_start) - run.first)
            if upto > done:
                _add(sums[month], amounts, upto - done)
                lasts[month] = (run, upto - 1)
            done, month = upto, month + 1
    return sums, lasts


def monthly(
    priced: list[PricedRun],
    terms: CostTerms,
    start_date: dt.date,
    end_date: dt.date,
    start: StartingAccumulators,
) -> list[MonthSummary]:
    """Per calendar month of the pathway, with the accumulators as they stand at month end."""
    months = []
    family_deductible = start.family_deductible_met_cents
    family_oop = start.family_oop_met_cents
    position = (
        terms.plan_year_start.plan_year_of(start_date),
        start.deductible_met_cents,
        start.oop_met_cents,
        start.deductible_met_cents if family_deductible is None else family_deductible,
        start.oop_met_cents if family_oop is None else family_oop,
    )
    first = _month_number(start_date)
    frame = _months(terms, first, _month_number(end_date) - first + 1)
    sums, lasts = _by_month(priced, first, frame)
    for calendar, month_sums, last in zip(frame, sums, lasts, strict=True):
        if last is not None:
            run, index = last
            position = (run.plan_year, *run.met_after(index))
        if calendar.plan_year != position[0]:  # a reset with no unit yet in the new plan year
            position = (calendar.plan_year, 0, 0, 0, 0)
        months.append(
            MonthSummary(
                month=calendar.label,
                accumulators=_position(calendar.limits, *position),
                **month_sums,
            )
        )
    return months


def _position(
    limits: tuple[int | None, int | None, int | None, int | None] | None,
    plan_year: dt.date,
    deductible_met: int,
    oop_met: int,
    family_deductible_met: int,
    family_oop_met: int,
) -> AccumulatorPosition:
    if limits is None:
        return AccumulatorPosition(
            plan_year_start=plan_year,
            deductible_met_cents=deductible_met,
            deductible_remaining_cents=None,
            oop_met_cents=oop_met,
            oop_remaining_cents=None,
        )
    deductible, oop_max, family_deductible, family_oop = limits
    return AccumulatorPosition(
        plan_year_start=plan_year,
        deductible_met_cents=deductible_met,
        deductible_remaining_cents=_left(deductible, deductible_met),
        oop_met_cents=oop_met,
        oop_remaining_cents=_left(oop_max, oop_met),
        family_deductible_met_cents=None if family_deductible is None else family_deductible_met,
        family_deductible_remaining_cents=_left(family_deductible, family_deductible_met),
        family_oop_met_cents=None if family_oop is None else family_oop_met,
        family_oop_remaining_cents=_left(family_oop, family_oop_met),
    )


def _left(limit: int | None, met: int) -> int | None:
    """What is left of a limit, never below zero; None when there is no such limit."""
    return None if limit is None else limit - met if limit > met else 0


def authorization_needs(priced: list[PricedRun], terms: CostTerms) -> list[AuthorizationNeed]:
    """One entry per episode (consecutive units at one level) that needs prior auth."""
    episodes = groupby(priced, key=attrgetter("level"))
    needs = (_authorization_need(runs, terms.on(runs[0].date)) for runs in (list(e) for _, e in episodes))
    return [need for need in needs if need is not None]


def _authorization_need(episode: list[PricedRun], terms: CostTerms) -> AuthorizationNeed | None:
    level = episode[0].level
    benefit = terms.benefits.get(level)
    if benefit is None or not benefit.prior_auth:
        return None
    every = benefit.auth_review_units
    review_dates: list[dt.date] = []
    at_risk = 0  # pending units before the run: a review falls on every `every`-th, from the first
    for run in episode:
        if run.auth == "pending_review":
            review_dates.extend(run.unit_date(index) for index in range(-at_risk % every, run.count, every))
            at_risk += run.count
    return AuthorizationNeed(
        level=level,
        category_key=category_key(terms.category, level),
        first_unit_date=episode[0].date,
        units=sum(run.count for run in episode),
        initial_units=benefit.auth_initial_units,
        review_every_units=every,
        review_dates=review_dates,
        units_at_risk=at_risk,
        no_auth_policy=str(benefit.no_auth),
    )


_reminders: KeptFor[CostTerms, tuple[CertificationReminder, ...]] = KeptFor(1024)  # (terms, pathway, start)


def certification_reminders(
    phases: list[Phase], start_date: dt.date, terms: CostTerms
) -> list[CertificationReminder]:
    """Physician certification and recertification dates where the plan's program rules ask:
    the same for every request on these terms, pathway and start date, so listed once."""
    key = (tuple(phases), start_date)
    return list(_reminders.get(terms, key, lambda: tuple(_reminders_of(phases, start_date, terms))))


def _reminders_of(phases: list[Phase], start_date: dt.date, terms: CostTerms) -> list[CertificationReminder]:
    reminders: list[CertificationReminder] = []
    for level, first_day, last_day in _episodes(phases, start_date):
        rule = getattr(terms.program_rules, level, None)
        if rule is None or rule.recertify_every_days is None:
            continue
        reminders.append(
            CertificationReminder(level=level, date=first_day, kind="certification", rule=rule.citation)
        )
        due = first_day + dt.timedelta(days=rule.recertify_first_after_days or rule.recertify_every_days)
        while due <= last_day:
            reminders.append(
                CertificationReminder(level=level, date=due, kind="recertification", rule=rule.citation)
            )
            due += dt.timedelta(days=rule.recertify_every_days)
    return reminders


def _episodes(phases: list[Phase], start_date: dt.date) -> list[tuple[Level, dt.date, dt.date]]:
    """(level, first day, last day) of each run of consecutive phases at one level."""
    episodes: list[tuple[Level, dt.date, dt.date]] = []
    phase_start = start_date
    for phase in phases:
        phase_end = phase_start + dt.timedelta(weeks=phase.weeks, days=-1)
        if episodes and episodes[-1][0] == phase.level:
            episodes[-1] = (phase.level, episodes[-1][1], phase_end)
        else:
            episodes.append((phase.level, phase_start, phase_end))
        phase_start = phase_end + dt.timedelta(days=1)
    return episodes


def _warning(code: str, message: str) -> Flag:
    return Flag(code=code, severity="warning", message=message)


def scenario_flags(
    phases: list[Phase], priced: list[PricedRun], terms: CostTerms, loaded: LoadedPlan
) -> list[Flag]:
    flags: list[Flag] = []
    for phase in phases:
        rule = getattr(terms.program_rules, phase.level, None)
        if rule is not None and rule.min_hours_per_week and phase.hours_per_week < rule.min_hours_per_week:
            flags.append(
                _warning(
                    f"{phase.level}_hours_below_minimum",
                    (
                        f"{phase.describe()} is {_hours(phase.hours_per_week)} hours a week; "
                        f"{loaded.plan.name} requires at least {rule.min_hours_per_week} hours a week "
                        f"for {LEVELS[phase.level].label}, so it would not qualify ({rule.citation}). "
                        "The estimate still prices it as covered."
                    ),
                )
            )
    by_status: dict[str, list[PricedRun]] = {}
    for run in priced:
        by_status.setdefault(run.status, []).append(run)
    for status, runs in by_status.items():
        flag = _status_flag(status, runs, terms)
        if flag is not None:
            flags.append(flag)
    last = terms.last()  # flag only units no successor plan file prices
    effective_end = last.effective_end or loaded.plan.effective.end
    beyond: list[tuple[PricedRun, int]] = []
    if priced and priced[-1].units_after(effective_end):  # else no unit is beyond the end
        beyond = [(run, count) for run in priced if (count := run.units_after(effective_end))]
    if beyond:
        first, count = beyond[0]
        first_date = first.unit_date(first.count - count)
        whose = "the plan's" if last is terms else f"the last renewing plan's ({last.plan_id})"
        flags.append(
            _warning(
                "beyond_plan_effective_end",
                (
                    f"{sum(count for _, count in beyond)} unit(s) from {first_date} fall after {whose} "
                    f"effective end {effective_end}; they are priced as if the plan renews unchanged."
                ),
            )
        )
    flags.extend(_milestone_flags(priced, terms))
    return flags


def _hours(hours: Fraction) -> str:
    if hours.denominator == 1:
        return str(hours.numerator)
    return str((Decimal(hours.numerator) / Decimal(hours.denominator)).quantize(Decimal("0.01")))


def _status_flag(status: str, runs: list[PricedRun], terms: CostTerms) -> Flag | None:
    if status == "covered":
        return None
    first, count = runs[0], sum(run.count for run in runs)
    key = category_key(terms.category, first.level)
    total = sum(run.count * run.member_cost_cents for run in runs)
    if status == "not_covered":
        return _warning(
            "not_covered",
            (
                f"{count} unit(s) from {first.date} have no benefit in this network "
                f"({', '.join(sorted({category_key(terms.category, run.level) for run in runs}))}); "
                f"priced at the self-pay rate, {format_usd(total)} in all."
            ),
        )
    if status == "over_visit_limit":
        return _warning(
            "visit_limit_reached",
            (
                f"The plan-year visit limit for {key} is used up from {first.date}: {count} unit(s) "
                f"are not covered and cost {format_usd(total)} at the self-pay rate."
            ),
        )
    if status == "denied_no_auth":
        exposure = sum(run.count * run.denied_exposure_cents for run in runs)
        absorbed = sum(run.count * run.provider_absorbs_cents for run in runs)
        return _warning(
            "denied_no_auth",
            (
                f"{count} unit(s) from {first.date} would be denied for lack of authorization. "
                + (
                    f"In network the provider usually absorbs them ({format_usd(absorbed)}); "
                    f"if billed to the client at the self-pay rate they would cost {format_usd(exposure)}."
                    if terms.network == "in"
                    else f"Out of network the client owes the self-pay rate: {format_usd(total)}."
                )
            ),
        )
    if status == "penalty_no_auth":
        penalty = sum(run.count * run.penalty_cents for run in runs)
        return _warning(
            "no_auth_penalty",
            (
                f"{count} unit(s) from {first.date} lack authorization: the plan cuts its payment "
                f"and the client owes {format_usd(penalty)} more in penalties."
            ),
        )
    return None


def _reached_on(run: PricedRun, after: int, per_unit: int, target: int) -> dt.date:
    """The date of the run's first unit after which an accumulator that ends the run at `after`,
    growing by `per_unit` a unit, stands at `target` or more (`after` is at least `target`)."""
    before = after - run.count * per_unit  # before the run's first unit
    return run.unit_date(0 if before >= target else -(-(target - before) // per_unit) - 1)


def _milestone_flags(priced: list[PricedRun], terms: CostTerms) -> list[Flag]:
    flags: list[Flag] = []
    limits = terms.limits
    if limits is None:
        return flags
    # This plan file's plan years (a successor's runs have their own limits).
    own = priced if terms.renewal is None else [run for run in priced if terms.on(run.date) is terms]
    deductible = limits.deductible_individual_cents
    deductible_met_on = next(
        (
            _reached_on(run, run.deductible_met_after_cents, run.deductible_cents, deductible)
            for run in own
            if run.deductible_cents and run.deductible_met_after_cents >= deductible
        ),
        None,
    )
    if deductible_met_on is not None:
        flags.append(
            Flag(code="deductible_met", severity="info", message=f"Deductible met on {deductible_met_on}.")
        )
    oop_max = limits.oop_max_individual_cents
    if oop_max is not None:
        reached = next(
            (
                _reached_on(run, run.oop_met_after_cents, run.share_cents, oop_max)
                for run in own
                if run.oop_met_after_cents >= oop_max and run.status in ("covered", "penalty_no_auth")
            ),
            None,
        )
        if reached is not None:
            flags.append(
                Flag(
                    code="oop_max_reached",
                    severity="info",
                    message=(
                        f"Out-of-pocket maximum {format_usd(oop_max)} reached on {reached}; "
                        + (
                            "covered units after that cost the client nothing until the plan year resets."
                            if terms.network == "in"
                            else "covered units after that carry no deductible, copay or coinsurance "
                            "until the plan year resets, but the out-of-network balance bill (the "
                            "provider's charge above the allowed amount) continues."
                        )
                    ),
                )
            )
    resets = sorted({run.plan_year for run in priced} - {priced[0].plan_year}) if priced else []
    for reset in resets:
        flags.append(
            Flag(
                code="plan_year_reset",
                severity="info",
                message=f"Plan year starts again on {reset}: deductible and out-of-pocket reset to $0.00.",
            )
        )
    return flags
