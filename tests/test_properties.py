"""Properties of the engine over random requests against every bundled plan."""

from __future__ import annotations

import datetime as dt

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import PLANS_DIR

from coverage.estimate import EstimateRequest, estimate
from coverage.plans import PlanCatalog, load_catalog
from coverage.pricing.report import CostBreakdown

CATALOG: PlanCatalog = load_catalog(PLANS_DIR)
BREAKDOWN_FIELDS = CostBreakdown.__struct_fields__


@st.composite
def requests(draw: st.DrawFn, network: str | None = None) -> EstimateRequest:
    plan_id = draw(st.sampled_from(sorted(CATALOG.plans)))
    plan = CATALOG.plans[plan_id].plan
    chosen_network = network or draw(st.sampled_from(["in", "out"]))
    limits = plan.network_accumulators(chosen_network) or plan.accumulators.in_network  # type: ignore[arg-type]
    deductible_met = draw(st.integers(0, limits.deductible_individual_cents))
    oop_limit = limits.oop_max_individual_cents
    oop_met = (
        draw(st.integers(deductible_met, oop_limit)) if oop_limit is not None else draw(st.integers(0, 10**6))
    )
    days = (plan.effective.end - plan.effective.start).days
    pathway = draw(
        st.none()
        | st.lists(
            st.tuples(st.sampled_from(["op", "iop", "php"]), st.integers(1, 10), st.integers(1, 6)),
            min_size=1,
            max_size=3,
        ).map(lambda phases: ",".join(f"{level}:{weeks}x{k}" for level, weeks, k in phases))
    )
    return EstimateRequest(
        plan_id=plan_id,
        start_date=plan.effective.start + dt.timedelta(days=draw(st.integers(0, days))),
        network=chosen_network,  # type: ignore[arg-type]
        category=draw(st.sampled_from(["mh", "sud"])),
        deductible_met_cents=deductible_met,
        oop_met_cents=oop_met,
        horizon_weeks=draw(st.integers(1, 52)),
        pathway=pathway,
        auth_status=draw(st.sampled_from(["approved", "initial_only", "none"])),
    )


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(requests())
def test_scenario_totals_equal_the_sum_of_their_months(request: EstimateRequest) -> None:
    for scenario in estimate(CATALOG, request).scenarios:
        for field in BREAKDOWN_FIELDS:
            assert getattr(scenario.totals, field) == sum(getattr(m, field) for m in scenario.months), field
        assert scenario.totals.member_cost_cents == sum(
            getattr(scenario.totals, part)
            for part in (
                "deductible_cents",
                "copay_cents",
                "coinsurance_cents",
                "penalty_cents",
                "balance_bill_cents",
                "not_covered_cents",
            )
        )


@SETTINGS
@given(requests(network="in"))
def test_in_network_cost_share_stays_within_allowed_and_remaining_oop(request: EstimateRequest) -> None:
    result = estimate(CATALOG, request)
    limits = CATALOG.plans[request.plan_id].plan.accumulators.in_network
    for scenario in result.scenarios:
        first_plan_year = scenario.months[0].accumulators.plan_year_start
        share_in_first_year = 0
        for month in scenario.months:
            cost_share = month.deductible_cents + month.copay_cents + month.coinsurance_cents
            assert cost_share <= month.allowed_cents  # hence per unit too: no unit's share is negative
            if month.accumulators.plan_year_start == first_plan_year:
                share_in_first_year += cost_share
        if limits.oop_max_individual_cents is not None:
            assert share_in_first_year <= limits.oop_max_individual_cents - request.oop_met_cents


@SETTINGS
@given(requests(), st.integers(0, 100))
def test_more_deductible_met_never_raises_the_cost(request: EstimateRequest, percent_more: int) -> None:
    plan = CATALOG.plans[request.plan_id].plan
    limits = plan.network_accumulators(request.network) or plan.accumulators.in_network
    headroom = limits.deductible_individual_cents - request.deductible_met_cents
    if limits.has_oop_max:
        headroom = min(headroom, request.oop_met_cents - request.deductible_met_cents)
    more = msgspec.structs.replace(
        request, deductible_met_cents=request.deductible_met_cents + headroom * percent_more // 100
    )
    before = estimate(CATALOG, request).scenarios
    after = estimate(CATALOG, more).scenarios
    for low, high in zip(after, before, strict=True):
        # The cost share (and anything not covered) never rises with more deductible met.
        assert low.totals.member_cost_cents - low.totals.penalty_cents <= (
            high.totals.member_cost_cents - high.totals.penalty_cents
        )
        # A no-auth penalty is N% of each unit's plan payment, rounded half-up per unit. Once the
        # OOP max caps the share, the plan pays the same in total, but split across units
        # differently, so the rounded penalties may differ by at most a cent per penalized unit.
        penalized_units = low.totals.units if low.totals.penalty_cents else 0
        assert low.totals.member_cost_cents <= high.totals.member_cost_cents + penalized_units
