"""Worked cases for the pricing engine: every expected number is worked out by hand below."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.conftest import make_plan, run

from coverage.errors import InputError
from coverage.estimate import EstimateRequest, estimate
from coverage.pricing.engine import price_units
from coverage.pricing.terms import StartingAccumulators, build_terms
from coverage.schedule import expand, parse_pathway

IOP_20_PERCENT = """
[accumulators.in_network]
deductible_individual = "1000.00"
oop_max_individual = "3000.00"

[benefits.mh_iop.in_network]
allowed = "450.00"
coinsurance = "20%"
deductible_applies = true
"""


def priced(loaded, pathway: str, start: dt.date, **start_fields: int):
    terms = build_terms(loaded, "in", "mh")
    units = expand(parse_pathway(pathway), start)
    return price_units(units, terms, start, StartingAccumulators(**start_fields))


def test_deductible_crosses_inside_one_unit() -> None:
    # $1,000 deductible, $450 a day: day 1 and 2 go wholly to the deductible ($900),
    # day 3 takes the last $100 of it, then 20% of the remaining $350 = $70 -> $170.
    # day 4: 20% x $450 = $90.
    units = priced(make_plan(IOP_20_PERCENT), "iop:2", dt.date(2026, 3, 2))
    assert [u.member_cost_cents for u in units[:4]] == [45000, 45000, 17000, 9000]
    assert (units[2].deductible_cents, units[2].coinsurance_cents) == (10000, 7000)
    assert units[2].plan_paid_cents == 45000 - 17000
    assert units[2].deductible_met_after_cents == 100000


def test_copay_applies_after_deductible_then_coinsurance_on_the_rest() -> None:
    plan = make_plan(
        """
[accumulators.in_network]
deductible_individual = "100.00"

[benefits.mh_iop.in_network]
allowed = "400.00"
copay = "50.00"
coinsurance = "10%"
deductible_applies = true
"""
    )
    units = priced(plan, "iop:1", dt.date(2026, 3, 2))
    # day 1: deductible $100; copay min($50, $300) = $50; 10% x ($400 - 100 - 50) = $25 -> $175.
    # day 2: copay $50; 10% x $350 = $35 -> $85.
    assert [(u.deductible_cents, u.copay_cents, u.coinsurance_cents) for u in units[:2]] == [
        (10000, 5000, 2500),
        (0, 5000, 3500),
    ]


def test_coinsurance_rounds_half_up_once_per_unit() -> None:
    plan = make_plan(
        """
[accumulators.in_network]
deductible_individual = "0.00"

[benefits.mh_office.in_network]
allowed = "123.45"
coinsurance = "10%"
deductible_applies = true
"""
    )
    # 10% x $123.45 = $12.345 -> $12.35 on every unit (half-up, not banker's $12.34);
    # three units: 3 x $12.35 = $37.05 (rounding the $37.035 total once would give $37.04).
    units = priced(plan, "op:3", dt.date(2026, 3, 2))
    assert [u.coinsurance_cents for u in units] == [1235, 1235, 1235]
    assert sum(u.member_cost_cents for u in units) == 3705


def test_oop_max_reached_mid_month_then_nothing_more() -> None:
    # Deductible $1,000 met already, OOP $3,000 with $2,800 met: $200 left.
    # IOP Mon/Wed/Fri from Mon 2026-03-02 at 20% x $450 = $90 a day:
    # 03-02 $90 (110 left), 03-04 $90 (20 left), 03-06 $20 (capped), then $0 for the rest of March.
    estimate = run(
        make_plan(IOP_20_PERCENT),
        pathway="iop:4",
        deductible_met_cents=100000,
        oop_met_cents=280000,
    )
    scenario = estimate.scenarios[0]
    march = scenario.months[0]
    assert march.month == "2026-03" and march.units == 12
    assert march.member_cost_cents == 9000 + 9000 + 2000
    assert march.plan_paid_cents == 12 * 45000 - 20000
    assert march.accumulators.oop_met_cents == 300000
    assert march.accumulators.oop_remaining_cents == 0
    assert "oop_max_reached" in {flag.code for flag in scenario.flags}


def medicare_php(allowed: str):
    """Original Medicare 2026: $283 Part B deductible, 20%, the $1,736 per-day cap."""
    return make_plan(
        f"""
[accumulators.in_network]
deductible_individual = "283.00"

[benefits.mh_php.in_network]
allowed = "{allowed}"
coinsurance = "20%"
deductible_applies = true
per_unit_member_cap = "1736.00"
""",
        kind="medicare",
    )


def test_per_unit_cap_limits_each_day_share() -> None:
    units = priced(medicare_php("10000.00"), "php:1", dt.date(2026, 3, 2))
    # The cap limits the coinsurance only; the Part B deductible is owed on top
    # (SSA 1833(t)(8)(C); 42 CFR 419.41).
    # day 1: $283 deductible + min(20% x $9,717 = $1,943.40, $1,736) = $283 + $1,736 = $2,019.00.
    # day 2: 20% x $10,000 = $2,000 -> capped at $1,736.
    assert (units[0].deductible_cents, units[0].coinsurance_cents) == (28300, 173600)
    assert [u.member_cost_cents for u in units] == [201900] + [173600] * 4
    assert units[0].plan_paid_cents == 1000000 - 201900
    assert units[1].plan_paid_cents == 1000000 - 173600


def test_per_day_cap_leaves_the_part_b_deductible_on_top() -> None:
    """The issue's worked example: allowed $9,000 on the first day of 2026, nothing met."""
    units = priced(medicare_php("9000.00"), "php:1x1", dt.date(2026, 1, 1))
    # $283 deductible + min(20% x ($9,000 - $283) = 20% x $8,717 = $1,743.40, $1,736) = $2,019.00
    assert (units[0].deductible_cents, units[0].coinsurance_cents) == (28300, 173600)
    assert units[0].member_cost_cents == 201900
    assert units[0].plan_paid_cents == 900000 - 201900  # $6,981.00
    assert units[0].deductible_met_after_cents == 28300


OON_PLAN = """
[accumulators.in_network]
deductible_individual = "500.00"

[accumulators.out_of_network]
deductible_individual = "200.00"
oop_max_individual = "10000.00"

[benefits.mh_office.in_network]
allowed = "120.00"
copay = "30.00"
coinsurance = "0%"
deductible_applies = false

[benefits.mh_office.out_of_network]
allowed = "100.00"
billed = "180.00"
coinsurance = "40%"
deductible_applies = true
"""


def test_out_of_network_balance_bill_accrues_to_nothing() -> None:
    estimate = run(make_plan(OON_PLAN), network="out", pathway="op:3")
    totals = estimate.scenarios[0].totals
    # session 1: $100 to the $200 deductible + $80 balance bill (billed $180 - allowed $100) = $180
    # session 2: last $100 of deductible + $80 balance bill = $180
    # session 3: 40% x $100 = $40 + $80 balance bill = $120           -> $480 in all
    assert totals.member_cost_cents == 18000 + 18000 + 12000
    assert totals.balance_bill_cents == 3 * 8000
    assert totals.plan_paid_cents == 6000
    # the accumulators saw only the cost share: $100 + $100 + $40 = $240
    assert estimate.scenarios[0].months[0].accumulators.oop_met_cents == 24000


def test_visit_limit_exhausted_units_are_self_pay() -> None:
    plan = make_plan(
        """
[accumulators.in_network]
deductible_individual = "0.00"

[benefits.mh_office.in_network]
allowed = "100.00"
billed = "150.00"
copay = "20.00"
coinsurance = "0%"
deductible_applies = false
visit_limit = 3
"""
    )
    units = priced(plan, "op:5", dt.date(2026, 3, 2))
    # visits 1-3: $20 copay each; visits 4-5: over the limit, self-pay at billed $150.
    assert [u.status for u in units] == ["covered"] * 3 + ["over_visit_limit"] * 2
    assert [u.member_cost_cents for u in units] == [2000, 2000, 2000, 15000, 15000]
    assert units[3].plan_paid_cents == 0


def test_plan_year_reset_in_the_middle_of_an_iop_episode() -> None:
    # IOP Mon/Wed/Fri from Mon 2026-12-14 for 3 weeks: Dec 14,16,18,21,23,25,28,30 (8 days)
    # and Jan 1 2027 (1 day). $1,000 deductible: Dec days 1-2 pay $450 each, day 3 pays $100
    # + 20% x $350 = $170, days 4-8 pay $90 -> Dec total 900 + 170 + 450 = $1,520.
    # 2027-01-01 starts a new plan year: the deductible is back, so the Jan day pays $450.
    estimate = run(make_plan(IOP_20_PERCENT), pathway="iop:3", start_date=dt.date(2026, 12, 14))
    scenario = estimate.scenarios[0]
    december, january = scenario.months
    assert (december.units, december.member_cost_cents) == (8, 152000)
    assert (january.units, january.member_cost_cents) == (1, 45000)
    assert january.accumulators.plan_year_start == dt.date(2027, 1, 1)
    assert january.accumulators.deductible_met_cents == 45000
    assert scenario.totals.member_cost_cents == 152000 + 45000
    codes = {flag.code for flag in scenario.flags}
    assert {"plan_year_reset", "beyond_plan_effective_end"} <= codes


def test_starting_accumulators_carry_into_the_estimate() -> None:
    # $800 of the $1,000 deductible met: day 1 pays $200 + 20% x $250 = $250; day 2 pays $90.
    units = priced(
        make_plan(IOP_20_PERCENT),
        "iop:1",
        dt.date(2026, 3, 2),
        deductible_met_cents=80000,
        oop_met_cents=80000,
    )
    assert [u.member_cost_cents for u in units] == [25000, 9000, 9000]
    assert units[-1].oop_met_after_cents == 80000 + 25000 + 9000 + 9000


def test_starting_accumulators_above_the_plan_limit_are_rejected() -> None:
    with pytest.raises(InputError) as error:
        run(make_plan(IOP_20_PERCENT), deductible_met_cents=100001, oop_met_cents=100001)
    assert error.value.field == "deductible_met_cents"


AUTH_PLAN = """
[accumulators.in_network]
deductible_individual = "0.00"
oop_max_individual = "9000.00"

[benefits.mh_iop.in_network]
allowed = "400.00"
coinsurance = "10%"
deductible_applies = false
prior_auth = true
auth_initial_units = 6
auth_review_units = 4
no_auth = "{policy}"
"""


def test_prior_auth_review_dates_and_units_at_risk() -> None:
    # 4 weeks of IOP Mon/Wed/Fri from Mon 2026-03-02 = 12 days; 6 authorized up front,
    # reviews before day 7 (Mon 03-16) and day 11 (Wed 03-25); days 7-12 (6) are at risk.
    estimate = run(make_plan(AUTH_PLAN.format(policy="penalty:50%")), pathway="iop:4")
    scenario = estimate.scenarios[0]
    (need,) = scenario.authorizations
    assert need.review_dates == [dt.date(2026, 3, 16), dt.date(2026, 3, 25)]
    assert (need.initial_units, need.units_at_risk) == (6, 6)
    # approved reviews: 12 x 10% x $400 = $480; if reviews are denied, days 7-12 pay $40
    # + 50% of the plan's $360 = $180 penalty each: 6 x $40 + 6 x $220 = $1,560.
    assert scenario.totals.member_cost_cents == 48000
    assert scenario.if_reviews_denied is not None
    assert scenario.if_reviews_denied.member_cost_cents == 6 * 4000 + 6 * 22000


def test_no_auth_penalty_shifts_the_cut_to_the_client() -> None:
    # no authorization at all: each day the plan would pay $360, cut by 50% -> client pays
    # $40 coinsurance + $180 penalty = $220; plan pays $180. 3 days -> $660 / $540.
    estimate = run(make_plan(AUTH_PLAN.format(policy="penalty:50%")), pathway="iop:1", auth_status="none")
    totals = estimate.scenarios[0].totals
    assert (totals.member_cost_cents, totals.penalty_cents, totals.plan_paid_cents) == (66000, 54000, 54000)


def test_no_auth_denial_in_network_is_absorbed_by_the_provider() -> None:
    estimate = run(make_plan(AUTH_PLAN.format(policy="deny")), pathway="iop:1", auth_status="none")
    totals = estimate.scenarios[0].totals
    # denied: client $0, plan $0, provider writes off 3 x $400; billed to the client it would be $1,200.
    assert (totals.member_cost_cents, totals.plan_paid_cents) == (0, 0)
    assert (totals.provider_absorbs_cents, totals.denied_exposure_cents) == (120000, 120000)


def test_medicare_iop_below_nine_hours_gets_a_warning(catalog) -> None:
    request = EstimateRequest(
        plan_id="medicare-part-b-2026", start_date=dt.date(2026, 3, 2), pathway="iop:8x2@3h"
    )
    flags = estimate(catalog, request).scenarios[0].flags
    assert "iop_hours_below_minimum" in {flag.code for flag in flags}
    ok = EstimateRequest(plan_id="medicare-part-b-2026", start_date=dt.date(2026, 3, 2), pathway="iop:8")
    assert "iop_hours_below_minimum" not in {flag.code for flag in estimate(catalog, ok).scenarios[0].flags}


def test_medicare_standard_comparison_worked_example(catalog) -> None:
    # Original Medicare 2026, start Mon 2026-03-02, 26 weeks. Deductible $283, then 20%.
    # weekly: 26 x $118. Session 1: $118 deductible; session 2: $118 deductible;
    #   session 3: last $47 + 20% x $71 = $14.20 -> $61.20; sessions 4-26: 23 x $23.60 = $542.80
    #   total = 118 + 118 + 61.20 + 542.80 = $840.00
    # iop: 24 IOP days x $290: day 1 $283 + 20% x $7 = $1.40 -> $284.40; 23 x $58 = $1,334
    #   -> $1,618.40; then 18 sessions x $23.60 = $424.80 -> $2,043.20
    # php: 15 PHP days x $420: day 1 $283 + 20% x $137 = $27.40 -> $310.40; 14 x $84 = $1,176
    #   -> $1,486.40; 18 IOP x $58 = $1,044; 17 sessions x $23.60 = $401.20 -> $2,931.60
    result = estimate(
        catalog, EstimateRequest(plan_id="medicare-part-b-2026", start_date=dt.date(2026, 3, 2))
    )
    totals = {s.name: s.totals.member_cost_cents for s in result.scenarios}
    assert totals == {"weekly": 84000, "iop": 204320, "php": 293160}
