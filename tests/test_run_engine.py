"""The run engine against the per-unit reference engine, to the cent, over random terms.

`engine.price_units` prices one unit at a time and is the reference; `run_engine.price_scenario`
prices runs of identical units in closed form. Every run is expanded back into its units here
and each unit must equal the reference's, field by field (date, status, authorization state,
plan year, every amount and every accumulator after it). Whole estimates are compared too: the
report built from the runs must equal the report built from the reference's units (each a run
of one), every month, total, level, authorization need, flag and if-reviews-denied total.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import PLANS_DIR
from tests.unit_by_unit import as_runs, estimates_unit_by_unit

from coverage.errors import InputError
from coverage.estimate import EstimateRequest, estimate, estimate_with_terms
from coverage.levels import LEVEL_ORDER, LEVELS
from coverage.money import Money, Percent
from coverage.plans import (
    Benefit,
    MonthDay,
    NetworkAccumulators,
    NoAuthPolicy,
    PlanCatalog,
    ProgramRules,
    load_catalog,
)
from coverage.pricing.engine import AuthStatus, PricedUnit, price_units
from coverage.pricing.run_engine import PricedRun, price_scenario
from coverage.pricing.terms import CostTerms, StartingAccumulators, build_terms
from coverage.pricing.verification import VerifiedMet, inactive_terms
from coverage.schedule import Phase, PhaseDays, expand

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RUN_ONLY = ("count", "days", "first")


def units_of(runs: list[PricedRun]) -> list[PricedUnit]:
    """Each run's units, with the accumulators after each one (a run's stand after its last)."""
    units = []
    for run in runs:
        fields = {name: value for name, value in msgspec.structs.asdict(run).items() if name not in RUN_ONLY}
        for index in range(run.count):
            deductible, oop, family_deductible, family_oop = run.met_after(index)
            units.append(
                PricedUnit(
                    **fields
                    | {
                        "date": run.unit_date(index),
                        "deductible_met_after_cents": deductible,
                        "oop_met_after_cents": oop,
                        "family_deductible_met_after_cents": family_deductible,
                        "family_oop_met_after_cents": family_oop,
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
def cost_terms(
    draw: st.DrawFn, plan_year_start: MonthDay, effective_from: dt.date, renewals: int
) -> CostTerms:
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
    plan_year_start = draw(
        st.sampled_from([MonthDay(1, 1), MonthDay(7, 1), MonthDay(3, 15), MonthDay(12, 31)])
    )
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
        denied = price_units(units, terms, start_date, start, "initial_only")
        assert units_of(pricing.if_reviews_denied) == denied
    else:
        assert pricing.if_reviews_denied is None


# --- whole estimates: the report from runs equals the report from the reference's units ----------


def both_ways(make: object) -> tuple[object, object]:
    """What `make()` gives with the run engine and with the reference engine (or the error's text)."""

    def outcome() -> object:
        try:
            return msgspec.to_builtins(make())  # type: ignore[operator]
        except InputError as exc:
            return str(exc)

    by_runs = outcome()
    with estimates_unit_by_unit():
        by_units = outcome()
    return by_runs, by_units


CATALOG: PlanCatalog = load_catalog(PLANS_DIR)
EDGE_CATALOG: PlanCatalog = load_catalog(Path(__file__).parent / "data" / "batch_plans")
ACME_TERMS = build_terms(CATALOG.plans["acme-ppo-gold-2026"], "in", "mh")
CATALOG_OF = {plan_id: catalog for catalog in (CATALOG, EDGE_CATALOG) for plan_id in catalog.plans}
SOME = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def pathway_text(found: list[Phase]) -> str:
    return ",".join(f"{phase.level}:{phase.weeks}x{phase.units_per_week}" for phase in found)


@st.composite
def plan_requests(draw: st.DrawFn) -> EstimateRequest:
    """A request against a bundled or edge plan: any start, network, category, pathway, amounts
    met (family ones too, within the plan's limits) and authorization assumption."""
    plan_id = draw(st.sampled_from(sorted(CATALOG_OF)))
    plan = CATALOG_OF[plan_id].plans[plan_id].plan
    network = draw(st.sampled_from(["in", "out"]))
    limits = plan.network_accumulators(network) or plan.accumulators.in_network  # type: ignore[arg-type]
    deductible = draw(st.integers(0, limits.deductible_individual_cents))
    oop_limit = limits.oop_max_individual_cents
    oop = draw(st.integers(deductible, oop_limit if oop_limit is not None else 20000_00))
    family_deductible = draw(
        st.none() | st.integers(deductible, max(deductible, limits.deductible_family_cents or 0))
    )
    family_oop_floor = max(oop, family_deductible or 0)
    family_oop = draw(
        st.none() | st.integers(family_oop_floor, max(family_oop_floor, limits.oop_max_family_cents or 0))
    )
    pathway = draw(st.none() | phases.map(pathway_text))
    return EstimateRequest(
        plan_id=plan.id,
        start_date=draw(st.dates(plan.effective.start, plan.effective.end)),
        network=network,  # type: ignore[arg-type]
        category=draw(st.sampled_from(["mh", "sud"])),
        deductible_met_cents=deductible,
        oop_met_cents=oop,
        family_deductible_met_cents=family_deductible,
        family_oop_met_cents=family_oop if family_deductible is not None or draw(st.booleans()) else None,
        horizon_weeks=draw(st.integers(1, 156)),
        pathway=pathway,
        auth_status=draw(st.sampled_from(["approved", "initial_only", "none"])),
        recommended_level=draw(st.none() | st.sampled_from(["op", "iop", "php", "refer_higher"])),
    )


@SOME
@given(plan_requests())
def test_estimates_of_catalog_plans_match_unit_by_unit(request: EstimateRequest) -> None:
    """Bundled plans (Medicare's per-day cap and renewal, penalties, denials, visit limits, family
    tiers, balance bills) and the edge plans: every month, total, flag and date of the estimate."""
    by_runs, by_units = both_ways(lambda: estimate(CATALOG_OF[request.plan_id], request))
    assert by_runs == by_units


@SOME
@given(cases(), st.sampled_from(["approved", "initial_only", "none"]), st.booleans())
def test_estimates_on_random_terms_match_unit_by_unit(
    case: tuple, auth_status: AuthStatus, inactive: bool
) -> None:
    """Random terms (successor plans, plan-year starts, payer-stated visits remaining, inactive
    coverage) under a bundled plan's name and dates."""
    pathway, start_date, terms, start = case
    loaded = CATALOG.plans["acme-ppo-gold-2026"]
    request = EstimateRequest(
        plan_id=loaded.plan.id,
        start_date=min(max(start_date, loaded.plan.effective.start), loaded.plan.effective.end),
        pathway=pathway_text(pathway),
        auth_status=auth_status,
    )
    verified = VerifiedMet(
        deductible_met_cents=start.deductible_met_cents,
        oop_met_cents=start.oop_met_cents,
        family_deductible_met_cents=start.family_deductible_met_cents,
        family_oop_met_cents=start.family_oop_met_cents,
        visits_remaining=start.visits_remaining,
    )
    used = inactive_terms(terms, 1, request.start_date) if inactive else terms
    by_runs, by_units = both_ways(lambda: estimate_with_terms(loaded, request, used, verified))
    assert by_runs == by_units


@SETTINGS
@given(phases, st.dates(dt.date(2025, 12, 1), dt.date(2026, 3, 1)), st.integers(-3, 400), st.data())
def test_run_dates_are_the_schedule_dates(
    found: list[Phase], start_date: dt.date, days_on: int, data: st.DataObject
) -> None:
    """PhaseDays and a run's date helpers agree with the dates schedule.expand lists one by one."""
    phase = found[0]
    dates = [unit.date for unit in expand([phase], start_date)]
    days = PhaseDays(phase, start_date)
    assert [days.date(index) for index in range(len(dates))] == dates
    day = start_date + dt.timedelta(days=days_on)
    assert min(days.count_before(day), len(dates)) == sum(1 for date in dates if date < day)
    first = data.draw(st.integers(0, len(dates) - 1))
    count = data.draw(st.integers(1, len(dates) - first))
    run = as_runs(price_units(expand([phase], start_date), ACME_TERMS, start_date, StartingAccumulators()))[0]
    run = msgspec.structs.replace(run, days=days, first=first, count=count)
    assert run.units_after(day) == sum(1 for date in dates[first : first + count] if date > day)
