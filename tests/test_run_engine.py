"""The run engine against the per-unit reference engine, to the cent, over random terms.

`engine.price_units` prices one unit at a time and is the reference; `run_engine.price_scenario`
prices runs of identical units in closed form. Every run is expanded back into its units here
and each unit must equal the reference's, field by field (date, status, authorization state,
plan year, every amount and every accumulator after it).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coverage.engine import CostTerms, PricedUnit, StartingAccumulators, price_units
from coverage.levels import LEVEL_ORDER, LEVELS
from coverage.money import Money, Percent
from coverage.plans import Benefit, MonthDay, NetworkAccumulators, NoAuthPolicy, ProgramRules
from coverage.run_engine import PricedRun, price_scenario
from coverage.schedule import Phase, expand

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RUN_ONLY = ("count", "days", "first")


def units_of(runs: list[PricedRun]) -> list[PricedUnit]:
    """Each run's units, with the accumulators after each one (a run's stand after its last)."""
    units = []
    for run in runs:
        fields = {name: value for name, value in msgspec.structs.asdict(run).items() if name not in RUN_ONLY}
        share = run.deductible_cents + run.copay_cents + run.coinsurance_cents
        for index in range(run.count):
            later = run.count - 1 - index  # units of the run after this one
            units.append(
                PricedUnit(
                    **fields
                    | {
                        "date": run.unit_date(index),
                        "deductible_met_after_cents": run.deductible_met_after_cents - later * run.deductible_cents,
                        "family_deductible_met_after_cents": run.family_deductible_met_after_cents
                        - later * run.deductible_cents,
                        "oop_met_after_cents": run.oop_met_after_cents - later * share,
                        "family_oop_met_after_cents": run.family_oop_met_after_cents - later * share,
                    }
                )
            )
    return units


money = st.integers(0, 2_000_00).map(Money)
small_money = st.sampled_from([0, 1, 5, 99, 3000, 12345]).map(Money)
percent = st.sampled_from(["0", "10", "12.5", "20", "33.333", "40", "50", "100"]).map(
    lambda text: Percent(Decimal(text) / 100)
)


@st.composite
def benefits(draw: st.DrawFn) -> Benefit | None:
    if draw(st.integers(0, 9)) == 0:
        return None
    prior_auth = draw(st.booleans())
    return Benefit(
        allowed_cents=draw(st.one_of(money, small_money)),
        coinsurance=draw(percent),
        deductible_applies=draw(st.booleans()),
        copay_cents=draw(st.one_of(st.just(Money(0)), small_money, money)),
        billed_cents=draw(st.none() | money),
        prior_auth=prior_auth,
        auth_initial_units=draw(st.integers(1, 30)) if prior_auth else 0,
        auth_review_units=draw(st.integers(1, 10)) if prior_auth else 0,
        no_auth=NoAuthPolicy(draw(st.none() | percent)) if prior_auth else None,  # None: deny
        visit_limit=draw(st.sampled_from([0, 0, 1, 5, 12, 40])),
        per_unit_member_cap_cents=draw(st.none() | small_money | money),
    )


@st.composite
def limits(draw: st.DrawFn) -> NetworkAccumulators | None:
    if draw(st.integers(0, 14)) == 0:
        return None
    deductible = draw(st.integers(0, 5000_00))
    oop = draw(st.none() | st.integers(deductible, 9000_00))
    return NetworkAccumulators(
        deductible_individual_cents=Money(deductible),
        deductible_family_cents=draw(st.none() | st.integers(deductible, 12000_00).map(Money)),
        oop_max_individual_cents=None if oop is None else Money(oop),
        oop_max_family_cents=draw(st.none() | st.integers(oop or 0, 20000_00).map(Money)),
    )


@st.composite
def cost_terms(draw: st.DrawFn, plan_year_start: MonthDay, effective_from: dt.date, renewals: int) -> CostTerms:
    """Random terms; with renewals left, an effective end on the day before a plan-year start and
    a successor's terms from the day after."""
    effective_end = None
    renewal = None
    if renewals and draw(st.booleans()):
        year = effective_from.year + draw(st.integers(1, 2))
        effective_end = dt.date(year, plan_year_start.month, plan_year_start.day) - dt.timedelta(days=1)
        renewal = draw(cost_terms(plan_year_start, effective_end + dt.timedelta(days=1), renewals - 1))
    return CostTerms(
        network=draw(st.sampled_from(["in", "out"])),
        category="mh",
        benefits={level: draw(benefits()) for level in LEVEL_ORDER},
        limits=draw(limits()),
        plan_year_start=plan_year_start,
        self_pay_cents={level: LEVELS[level].default_self_pay_cents for level in LEVEL_ORDER},
        program_rules=ProgramRules(),
        sources={},
        plan_id=f"plan-{renewals}",
        effective_end=effective_end,
        renewal=renewal,
    )


phases = st.lists(
    st.builds(Phase, st.sampled_from(LEVEL_ORDER), st.integers(1, 30), st.integers(1, 7), st.just(60)),
    min_size=1,
    max_size=4,
)


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[Phase], dt.date, CostTerms, StartingAccumulators]:
    plan_year_start = draw(st.sampled_from([MonthDay(1, 1), MonthDay(7, 1), MonthDay(3, 15), MonthDay(12, 31)]))
    start_date = draw(st.dates(dt.date(2025, 11, 1), dt.date(2026, 12, 31)))
    terms = draw(cost_terms(plan_year_start, start_date, renewals=2))
    deductible_met = draw(st.integers(0, 5000_00))
    oop_met = draw(st.integers(deductible_met, 9000_00))
    start = StartingAccumulators(
        deductible_met_cents=deductible_met,
        oop_met_cents=oop_met,
        family_deductible_met_cents=draw(st.none() | st.integers(deductible_met, 12000_00)),
        family_oop_met_cents=draw(st.none() | st.integers(oop_met, 20000_00)),
        visits_remaining=draw(st.dictionaries(st.sampled_from(LEVEL_ORDER), st.integers(0, 30), max_size=2)),
    )
    return draw(phases), start_date, terms, start


@SETTINGS
@given(cases(), st.sampled_from(["approved", "initial_only", "none"]))
def test_runs_price_every_unit_like_the_reference(case, auth_status) -> None:
    pathway, start_date, terms, start = case
    units = expand(pathway, start_date)
    reference = price_units(units, terms, start_date, start, auth_status)
    pricing = price_scenario(pathway, start_date, terms, start, auth_status)
    assert units_of(pricing.runs) == reference
    at_risk = auth_status == "approved" and any(unit.auth == "pending_review" for unit in reference)
    if at_risk:
        assert units_of(pricing.if_reviews_denied) == price_units(units, terms, start_date, start, "initial_only")
    else:
        assert pricing.if_reviews_denied is None
