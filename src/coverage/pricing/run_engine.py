"""The scenario pricing engine: runs of identical units, each priced in closed form.

Between two events every unit of a level costs the same, so a scenario is priced per run, not
per unit. Date events cut the schedule into segments first: plan-year starts (and with them the
switch to a successor plan) and the authorization boundary of an episode. Within
a segment, the visit limit cuts once (priced units, then units over the limit); the deductible
cuts a priced stretch into units wholly inside it, at most one unit that finishes it, and units
past it; the out-of-pocket maximum cuts each of those into units paid in full, at most one unit
cut short, and units that cost the client nothing. Each piece is one `PricedRun` (the monthly
report counts a run's units per month; a month end changes no price).

`engine.price_units` prices the same rules one unit at a time and stays the reference: the
differential tests expand these runs and compare every unit to it, to the cent.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import NamedTuple

from msgspec.structs import replace

from coverage.levels import Level
from coverage.money import Percent
from coverage.plans import Benefit
from coverage.pricing.engine import (
    AccumulatorState,
    AuthState,
    AuthStatus,
    PricedUnit,
    UnitStatus,
    balance_bill,
    lacks_authorization,
    per_unit_capped,
    plan_payment,
    split_share,
)
from coverage.pricing.kept import KeptFor
from coverage.pricing.terms import CostTerms, StartingAccumulators
from coverage.schedule import Phase, PhaseDays


class PricedRun(PricedUnit, kw_only=True, frozen=True):
    """`count` identical consecutive units: amounts are per unit, `date` is the first unit's and
    the accumulators are as they stand after the last unit."""

    count: int
    days: PhaseDays
    first: int  # the first unit's index in `days`

    def unit_date(self, index: int) -> dt.date:
        """The date of the run's unit `index` (from 0)."""
        return self.days.date(self.first + index)

    @property
    def share_cents(self) -> int:
        """What one unit adds to the out-of-pocket met: its deductible, copay and coinsurance."""
        return self.deductible_cents + self.copay_cents + self.coinsurance_cents

    def met_after(self, index: int) -> tuple[int, int, int, int]:
        """Deductible, out-of-pocket, family deductible and family out-of-pocket met after the run's
        unit `index` (from 0): the run's last unit leaves them at the `*_met_after_cents` fields."""
        later = self.count - 1 - index
        deductible, share = later * self.deductible_cents, later * self.share_cents
        return (
            self.deductible_met_after_cents - deductible,
            self.oop_met_after_cents - share,
            self.family_deductible_met_after_cents - deductible,
            self.family_oop_met_after_cents - share,
        )

    def units_after(self, day: dt.date) -> int:
        """How many of the run's units fall after `day`."""
        before = self.days.count_before(day + dt.timedelta(days=1)) - self.first
        return self.count - min(self.count, max(0, before))


class ScenarioPricing(NamedTuple):
    runs: list[PricedRun]
    # The runs had no concurrent review been approved (priced as "initial_only" from the first
    # unit that awaits one); None when no unit awaits one or the request assumes otherwise.
    if_reviews_denied: list[PricedRun] | None


class _Segment(NamedTuple):
    """Units `start`..`stop` (indices in `days`) of one level, plan year and auth state."""

    level: Level
    days: PhaseDays
    terms: CostTerms
    plan_year: dt.date
    benefit: Benefit | None  # None: not covered (no benefit, or no coverage in this network)
    auth: AuthState
    start: int
    stop: int
    # A run of the segment per status it can take, from its first unit, with every amount the
    # terms alone decide (a priced run's share is replaced): a run is one of these with its own
    # count, share, accumulators (and date, unless it starts the segment), which msgspec's replace
    # sets faster than a constructor sets every field.
    templates: dict[UnitStatus, PricedRun]
    past: tuple[int, int]  # copay and share of a unit past the deductible (`_past_deductible`)


def _templates(
    level: Level,
    days: PhaseDays,
    terms: CostTerms,
    plan_year: dt.date,
    benefit: Benefit | None,
    auth: AuthState,
    start: int,
) -> dict[UnitStatus, PricedRun]:
    """The segment's run templates (see `_Segment.templates`), cut once with the segment."""
    blank = PricedRun(
        date=days.date(start),
        level=level,
        status="not_covered",
        auth=auth,
        plan_year=plan_year,
        count=0,
        days=days,
        first=start,
    )
    if benefit is None:
        return {"not_covered": replace(blank, not_covered_cents=terms.self_pay_cents[level])}
    priced = replace(
        blank, allowed_cents=benefit.allowed_cents, balance_bill_cents=balance_bill(benefit, terms.network)
    )
    self_pay = benefit.self_pay_cents
    denied = (
        replace(blank, provider_absorbs_cents=benefit.allowed_cents, denied_exposure_cents=self_pay)
        if terms.network == "in"
        else replace(blank, not_covered_cents=self_pay)
    )
    return {
        "covered": replace(priced, status="covered"),
        "penalty_no_auth": replace(priced, status="penalty_no_auth"),
        "denied_no_auth": replace(denied, status="denied_no_auth"),
        "over_visit_limit": replace(blank, status="over_visit_limit", not_covered_cents=self_pay),
    }


def _turns(first: dt.date, end: dt.date, terms: CostTerms) -> list[dt.date]:
    """Days in (first, end) on which a plan year or a successor plan starts, in order."""
    turns: set[dt.date] = set()
    link: CostTerms | None = terms
    while link is not None:
        if link.renewal is not None and link.effective_end is not None:
            turns.add(link.effective_end + dt.timedelta(days=1))
        month, day = link.plan_year_start.month, link.plan_year_start.day
        turns.update(dt.date(year, month, day) for year in range(first.year, end.year + 1))
        link = link.renewal
    return sorted(turn for turn in turns if first < turn < end)


_segments_cut: KeptFor[CostTerms, tuple[_Segment, ...]] = KeptFor(1024)  # (terms, pathway, start date)


def segments(phases: list[Phase], start_date: dt.date, terms: CostTerms) -> tuple[_Segment, ...]:
    """The schedule cut at every date event and authorization boundary, in date order: the same
    for every request on these terms, pathway and start date, so cut once and reused."""
    return _segments_cut.get(terms, (tuple(phases), start_date), lambda: _cut(phases, start_date, terms))


def _cut(phases: list[Phase], start_date: dt.date, terms: CostTerms) -> tuple[_Segment, ...]:
    found: list[_Segment] = []
    turns = _turns(start_date, start_date + dt.timedelta(weeks=sum(phase.weeks for phase in phases)), terms)
    phase_start = start_date
    episode_units = 0  # units of the current episode (consecutive phases of one level) so far
    previous: Level | None = None
    for phase in phases:
        level = phase.level
        if level != previous:
            episode_units, previous = 0, level
        days = PhaseDays(phase, phase_start)
        count = phase.units_per_week * phase.weeks
        phase_end = phase_start + dt.timedelta(weeks=phase.weeks)
        stops = [min(count, days.count_before(day)) for day in turns if phase_start < day < phase_end]
        start = 0
        for stop in (*stops, count):
            if stop <= start:
                continue
            first = days.date(start)
            unit_terms = terms.on(first)
            plan_year = unit_terms.plan_year_start.plan_year_of(first)
            benefit = unit_terms.benefits.get(level) if unit_terms.limits is not None else None
            common = (level, days, unit_terms, plan_year, benefit)
            parts: list[tuple[AuthState, int, int]] = [("not_required", start, stop)]
            if benefit is not None and benefit.prior_auth:
                review_from = min(stop, max(start, benefit.auth_initial_units - episode_units))
                parts = [("initial", start, review_from), ("pending_review", review_from, stop)]
            found.extend(
                _Segment(
                    *common, auth, begin, end, _templates(*common, auth, begin), _past_deductible(benefit)
                )
                for auth, begin, end in parts
                if begin < end
            )
            start = stop
        episode_units += count
        phase_start = phase_end
    return tuple(found)


def price_scenario(
    phases: list[Phase],
    start_date: dt.date,
    terms: CostTerms,
    start: StartingAccumulators,
    auth_status: AuthStatus = "approved",
) -> ScenarioPricing:
    """Price a pathway as runs; with every review assumed approved, also as if none were."""
    pieces = segments(phases, start_date, terms)
    state = AccumulatorState.starting(terms.plan_year_start.plan_year_of(start_date), start)
    emit = _Emitter([], state)
    at_risk: tuple[int, int, AccumulatorState] | None = None
    for number, segment in enumerate(pieces):
        if at_risk is None and auth_status == "approved" and segment.auth == "pending_review":
            at_risk = (number, len(emit.runs), _copy(emit.state))
        _price_segment(segment, emit, auth_status)
    if at_risk is None:
        return ScenarioPricing(emit.runs, None)
    number, kept, state = at_risk
    denied = _Emitter(emit.runs[:kept], state)
    for segment in pieces[number:]:
        _price_segment(segment, denied, "initial_only")
    return ScenarioPricing(emit.runs, denied.runs)


def _copy(state: AccumulatorState) -> AccumulatorState:
    return AccumulatorState(
        state.plan_year,
        state.deductible_met_cents,
        state.family_deductible_met_cents,
        state.oop_met_cents,
        state.family_oop_met_cents,
        Counter(state.visits_used),
        state.visits_allowed,
    )


def _price_segment(segment: _Segment, emit: _Emitter, auth_status: AuthStatus) -> None:
    """Append the segment's runs, the accumulators (fresh ones in a new plan year) carried on."""
    if segment.plan_year != emit.state.plan_year:
        emit.state = AccumulatorState(plan_year=segment.plan_year)
    emit.segment, emit.offset = segment, segment.start
    state, level, benefit, count = emit.state, segment.level, segment.benefit, segment.stop - segment.start
    if benefit is None:
        emit.run("not_covered", count)
        return
    limit = state.visits_allowed.get(level, benefit.visit_limit or None)
    left = count if limit is None else max(0, limit - state.visits_used[level])
    unauthorized = lacks_authorization(segment.auth, auth_status)
    assert not unauthorized or benefit.no_auth is not None  # plan validation guarantees a policy
    if unauthorized and benefit.no_auth.denies:  # type: ignore[union-attr]
        emit.run("over_visit_limit" if left == 0 else "denied_no_auth", count)
        return
    priced = min(count, left)
    if priced:
        state.visits_used[level] += priced
        _price_covered(emit, benefit, priced, unauthorized)
    if priced < count:
        emit.run("over_visit_limit", count - priced)


def _price_covered(emit: _Emitter, benefit: Benefit, count: int, unauthorized: bool) -> None:
    """`count` priced units: blocks of equal units by the deductible, each paid while the OOP
    budget lasts; the block that reaches the maximum is cut (units paid in full, at most one unit
    that pays what is left) and every unit after it costs the client nothing."""
    state, segment = emit.state, emit.segment
    limits = segment.terms.limits
    assert limits is not None  # a segment has a benefit only where the network has coverage
    penalty = benefit.no_auth.penalty if unauthorized else None  # type: ignore[union-attr]
    status: UnitStatus = "penalty_no_auth" if unauthorized else "covered"
    budget = state.oop_remaining(limits)
    remaining = state.deductible_remaining(limits) if benefit.deductible_applies else 0  # 0: no deductible
    blocks = _deductible_blocks(benefit, segment.past, count, remaining)
    for units, deductible, copay, share in blocks:
        if budget is not None and share and units * share >= budget:  # the block reaches the maximum
            paid, what_is_left = divmod(budget, share)
            cut = 1 if what_is_left else 0  # the unit that pays what is left
            emit.priced(status, paid, share, deductible, copay, penalty)
            emit.priced(status, cut, what_is_left, deductible, copay, penalty)
            emit.priced(status, count - paid - cut, 0, 0, 0, penalty)  # the rest of the segment: free
            return
        emit.priced(status, units, share, deductible, copay, penalty)
        count -= units
        if budget is not None:
            budget -= units * share


def _deductible_blocks(
    benefit: Benefit, past: tuple[int, int], count: int, remaining: int
) -> list[tuple[int, int, int, int]]:
    """(units, deductible, copay, share before the OOP max) of `count` units in a row: units wholly
    inside the deductible (no copay, no coinsurance), the one that finishes it, the ones past it
    (`past`: their copay and share)."""
    allowed = benefit.allowed_cents
    blocks: list[tuple[int, int, int, int]] = []
    if benefit.deductible_applies and allowed > 0 and remaining > 0:
        full = min(count, remaining // allowed)
        if full:
            blocks.append((full, allowed, 0, allowed))
        last = remaining - full * allowed
        if full < count and last:  # the unit that finishes the deductible
            copay = min(benefit.copay_cents, allowed - last)
            after = copay + benefit.coinsurance.of(allowed - last - copay)
            blocks.append((1, last, copay, last + per_unit_capped(after, benefit.per_unit_member_cap_cents)))
            full += 1
        count -= full
    if count:
        blocks.append((count, 0, *past))
    return blocks


def _past_deductible(benefit: Benefit | None) -> tuple[int, int]:
    """The copay and share of a unit past the deductible: the terms alone decide them."""
    if benefit is None:
        return 0, 0
    copay = min(benefit.copay_cents, benefit.allowed_cents)
    share = copay + benefit.coinsurance.of(benefit.allowed_cents - copay)
    return copay, per_unit_capped(share, benefit.per_unit_member_cap_cents)


class _Emitter:
    """Appends runs in order, each with the accumulators as they stand after it: one for each
    pass over the segments, pointed at each segment in turn."""

    __slots__ = ("offset", "runs", "segment", "state")

    def __init__(self, runs: list[PricedRun], state: AccumulatorState) -> None:
        self.runs = runs
        self.state = state
        self.segment: _Segment  # set with `offset` (its next unit) before each segment's runs
        self.offset = 0

    def priced(
        self, status: UnitStatus, count: int, share: int, deductible: int, copay: int, penalty: Percent | None
    ) -> None:
        """Append `count` priced units (none: nothing) of this share per unit, accrued: its split
        (coinsurance cut first, then copay) and what the plan pays after any no-auth `penalty`."""
        if not count:
            return
        deductible, copay, coinsurance = split_share(share, deductible, copay)
        self.state.accrue(deductible * count, share * count)
        penalty_cents, plan_paid = plan_payment(self.segment.benefit, share, penalty)  # type: ignore[arg-type]
        self.run(status, count, deductible, copay, coinsurance, penalty_cents, plan_paid)

    def run(
        self,
        status: UnitStatus,
        count: int,
        deductible: int = 0,
        copay: int = 0,
        coinsurance: int = 0,
        penalty: int = 0,
        plan_paid: int = 0,
    ) -> None:
        """Append `count` units of `status`: the segment's template for it with these amounts (a
        run that is not priced has none: the terms alone decide what it costs)."""
        state, offset, segment = self.state, self.offset, self.segment
        template = segment.templates[status]
        self.runs.append(
            replace(
                template,
                date=template.date if offset == segment.start else segment.days.date(offset),
                deductible_met_after_cents=state.deductible_met_cents,
                oop_met_after_cents=state.oop_met_cents,
                family_deductible_met_after_cents=state.family_deductible_met_cents,
                family_oop_met_after_cents=state.family_oop_met_cents,
                count=count,
                first=offset,
                deductible_cents=deductible,
                copay_cents=copay,
                coinsurance_cents=coinsurance,
                penalty_cents=penalty,
                plan_paid_cents=plan_paid,
            )
        )
        self.offset += count
