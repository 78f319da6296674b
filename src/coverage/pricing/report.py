"""The month / total report: priced units summed into months and totals, authorization and
certification needs, and the flags a reader must see. Pure functions of the priced units,
the cost terms and the schedule; `coverage.estimate` assembles them into scenarios.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from itertools import groupby
from operator import attrgetter
from typing import Literal

from msgspec import Struct

from coverage.levels import LEVELS, Level, category_key
from coverage.money import format_usd
from coverage.plans import LoadedPlan
from coverage.pricing.engine import PricedUnit
from coverage.pricing.parts import AMOUNTS, MEMBER_COST, BreakdownAmounts
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


class CertificationReminder(Struct, kw_only=True):
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


def summarize(units: Iterable[PricedUnit], into: CostBreakdown) -> CostBreakdown:
    """Add priced units into a breakdown (every `_cents` amount of a unit has a same-named total)."""
    for unit in units:
        into.units += 1
        into.member_cost_cents += unit.member_cost_cents
        for name in _SUMMED_AMOUNTS:
            setattr(into, name, getattr(into, name) + getattr(unit, name))
    return into


def level_summaries(phases: list[Phase], priced: list[PricedUnit]) -> list[LevelSummary]:
    """Each level's weeks and cost in pathway order, so a reader can say "about $X a month during IOP"."""
    weeks: dict[Level, int] = {}
    for phase in phases:
        weeks[phase.level] = weeks.get(phase.level, 0) + phase.weeks
    return [
        summarize((unit for unit in priced if unit.level == level), LevelSummary(level=level, weeks=count))
        for level, count in weeks.items()
    ]


def _month_keys(start: dt.date, end: dt.date) -> list[str]:
    keys = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return keys


def _month_end(key: str) -> dt.date:
    year, month = int(key[:4]), int(key[5:])
    first_of_next = dt.date(year + 1, 1, 1) if month == 12 else dt.date(year, month + 1, 1)
    return first_of_next - dt.timedelta(days=1)


def monthly(
    priced: list[PricedUnit],
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
    by_month: dict[str, list[PricedUnit]] = {}
    for unit in priced:
        by_month.setdefault(unit.date.strftime("%Y-%m"), []).append(unit)
    for key in _month_keys(start_date, end_date):
        units = by_month.get(key, [])
        if units:
            last = units[-1]
            position = (
                last.plan_year,
                last.deductible_met_after_cents,
                last.oop_met_after_cents,
                last.family_deductible_met_after_cents,
                last.family_oop_met_after_cents,
            )
        plan_year = terms.plan_year_start.plan_year_of(_month_end(key))
        if plan_year != position[0]:  # a reset with no unit yet in the new plan year
            position = (plan_year, 0, 0, 0, 0)
        month_terms = terms.on(_month_end(key))
        months.append(
            summarize(units, MonthSummary(month=key, accumulators=_position(month_terms, *position)))
        )
    return months


def _left(limit: int | None, met: int) -> int | None:
    return None if limit is None else max(0, limit - met)


def _position(
    terms: CostTerms,
    plan_year: dt.date,
    deductible_met: int,
    oop_met: int,
    family_deductible_met: int,
    family_oop_met: int,
) -> AccumulatorPosition:
    limits = terms.limits
    family: dict[str, int | None] = {}
    if limits is not None and limits.deductible_family_cents is not None:
        family["family_deductible_met_cents"] = family_deductible_met
        family["family_deductible_remaining_cents"] = _left(
            limits.deductible_family_cents, family_deductible_met
        )
    if limits is not None and limits.oop_max_family_cents is not None:
        family["family_oop_met_cents"] = family_oop_met
        family["family_oop_remaining_cents"] = _left(limits.oop_max_family_cents, family_oop_met)
    return AccumulatorPosition(
        **family,
        plan_year_start=plan_year,
        deductible_met_cents=deductible_met,
        deductible_remaining_cents=(
            None if limits is None else max(0, limits.deductible_individual_cents - deductible_met)
        ),
        oop_met_cents=oop_met,
        oop_remaining_cents=(
            None
            if limits is None or limits.oop_max_individual_cents is None
            else max(0, limits.oop_max_individual_cents - oop_met)
        ),
    )


def authorization_needs(priced: list[PricedUnit], terms: CostTerms) -> list[AuthorizationNeed]:
    """One entry per episode (a run of units at one level) that needs prior auth."""
    episodes = groupby(priced, key=attrgetter("level"))
    needs = (_authorization_need(units, terms.on(units[0].date)) for units in (list(e) for _, e in episodes))
    return [need for need in needs if need is not None]


def _authorization_need(episode: list[PricedUnit], terms: CostTerms) -> AuthorizationNeed | None:
    level = episode[0].level
    benefit = terms.benefits.get(level)
    if benefit is None or not benefit.prior_auth:
        return None
    pending = [unit for unit in episode if unit.auth == "pending_review"]
    return AuthorizationNeed(
        level=level,
        category_key=category_key(terms.category, level),
        first_unit_date=episode[0].date,
        units=len(episode),
        initial_units=benefit.auth_initial_units,
        review_every_units=benefit.auth_review_units,
        review_dates=[unit.date for unit in pending[:: benefit.auth_review_units]],
        units_at_risk=len(pending),
        no_auth_policy=str(benefit.no_auth),
    )


def certification_reminders(
    phases: list[Phase], start_date: dt.date, terms: CostTerms
) -> list[CertificationReminder]:
    """Physician certification and recertification dates where the plan's program rules ask."""
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
    phases: list[Phase], priced: list[PricedUnit], terms: CostTerms, loaded: LoadedPlan
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
    by_status: dict[str, list[PricedUnit]] = {}
    for unit in priced:
        by_status.setdefault(unit.status, []).append(unit)
    for status, units in by_status.items():
        flag = _status_flag(status, units, terms)
        if flag is not None:
            flags.append(flag)
    last = terms.last()  # flag only units no successor plan file prices
    effective_end = last.effective_end or loaded.plan.effective.end
    beyond = [unit for unit in priced if unit.date > effective_end]
    if beyond:
        whose = "the plan's" if last is terms else f"the last renewing plan's ({last.plan_id})"
        flags.append(
            _warning(
                "beyond_plan_effective_end",
                (
                    f"{len(beyond)} unit(s) from {beyond[0].date} fall after {whose} effective end "
                    f"{effective_end}; they are priced as if the plan renews unchanged."
                ),
            )
        )
    flags.extend(_milestone_flags(priced, terms))
    return flags


def _hours(hours: Fraction) -> str:
    if hours.denominator == 1:
        return str(hours.numerator)
    return str((Decimal(hours.numerator) / Decimal(hours.denominator)).quantize(Decimal("0.01")))


def _status_flag(status: str, units: list[PricedUnit], terms: CostTerms) -> Flag | None:
    first, count = units[0], len(units)
    key = category_key(terms.category, first.level)
    total = sum(unit.member_cost_cents for unit in units)
    if status == "not_covered":
        return _warning(
            "not_covered",
            (
                f"{count} unit(s) from {first.date} have no benefit in this network "
                f"({', '.join(sorted({category_key(terms.category, unit.level) for unit in units}))}); "
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
        exposure = sum(unit.denied_exposure_cents for unit in units)
        absorbed = sum(unit.provider_absorbs_cents for unit in units)
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
        penalty = sum(unit.penalty_cents for unit in units)
        return _warning(
            "no_auth_penalty",
            (
                f"{count} unit(s) from {first.date} lack authorization: the plan cuts its payment "
                f"and the client owes {format_usd(penalty)} more in penalties."
            ),
        )
    return None


def _milestone_flags(priced: list[PricedUnit], terms: CostTerms) -> list[Flag]:
    flags: list[Flag] = []
    limits = terms.limits
    if limits is None:
        return flags
    own = [unit for unit in priced if terms.on(unit.date) is terms]  # this plan file's plan years
    deductible_met_on = next(
        (
            unit.date
            for unit in own
            if unit.deductible_cents and unit.deductible_met_after_cents >= limits.deductible_individual_cents
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
                unit
                for unit in own
                if unit.oop_met_after_cents >= oop_max and unit.status in ("covered", "penalty_no_auth")
            ),
            None,
        )
        if reached is not None:
            flags.append(
                Flag(
                    code="oop_max_reached",
                    severity="info",
                    message=(
                        f"Out-of-pocket maximum {format_usd(oop_max)} reached on {reached.date}; "
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
    resets = sorted({unit.plan_year for unit in priced} - {priced[0].plan_year}) if priced else []
    for reset in resets:
        flags.append(
            Flag(
                code="plan_year_reset",
                severity="info",
                message=f"Plan year starts again on {reset}: deductible and out-of-pocket reset to $0.00.",
            )
        )
    return flags
