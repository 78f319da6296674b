"""Properties of the engine over random requests against every bundled plan."""

from __future__ import annotations

import datetime as dt

import msgspec
from hypothesis import HealthCheck, example, given, settings
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


PENALTY_MOVES_OOP_ROOM = EstimateRequest(
    plan_id="acme-ppo-gold-2026",
    start_date=dt.date(2026, 1, 1),
    category="mh",
    deductible_met_cents=0,
    oop_met_cents=338508,
    horizon_weeks=10,
    auth_status="none",
)


@SETTINGS
@given(requests(), st.integers(0, 100))
@example(PENALTY_MOVES_OOP_ROOM, 22)
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
        # Without a no-auth penalty in either estimate, the whole cost never rises either. (A
        # penalty is N% of the plan's payment and does not accrue, so a smaller share can mean a
        # larger penalty and more OOP room for later units: docs/rules.md, and the test below.)
        if not (low.totals.penalty_cents or high.totals.penalty_cents):
            assert low.totals.member_cost_cents <= high.totals.member_cost_cents


def test_a_penalty_can_make_more_deductible_met_cost_a_little_more() -> None:
    """The worked case of docs/rules.md: PHP 3 weeks (15 days, denied without authorization: $0),
    IOP 6 weeks (18 days at $450, penalty 50%), 1 therapy session ($30 copay, deductible waived);
    OOP room $6,000.00 - $3,385.08 = $2,614.92."""
    more = msgspec.structs.replace(PENALTY_MOVES_OOP_ROOM, deductible_met_cents=33000)
    php_before = estimate(CATALOG, PENALTY_MOVES_OOP_ROOM).scenarios[2].totals
    php_after = estimate(CATALOG, more).scenarios[2].totals
    # $0 met: the IOP days' shares reach the OOP room: $1,500 deductible + $1,114.92 coinsurance =
    # $2,614.92, so the session's copay is $0; the penalty is 50% of what the plan pays.
    assert (php_before.deductible_cents, php_before.coinsurance_cents, php_before.copay_cents) == (
        150000, 111492, 0
    )
    # $330 met: $1,170 deductible + 20% x (18 x $450 - $1,170) = $1,386.00 coinsurance = $2,556.00,
    # under the room, so the session's $30 copay is owed: share $2,586.00, $28.92 less ...
    assert (php_after.deductible_cents, php_after.coinsurance_cents, php_after.copay_cents) == (
        117000, 138600, 3000
    )
    # ... but the plan pays $58.92 more on the penalized IOP days (and $30 less on the session),
    # so the 50% penalty is $29.46 more: $2,772.00 - $2,742.54.
    assert php_after.penalty_cents - php_before.penalty_cents == 2946
    assert php_after.member_cost_cents - php_before.member_cost_cents == 54  # $5,358.00 - $5,357.46
