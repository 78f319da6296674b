"""Verified benefits override plan-file terms in an estimate, each value citing its source."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import msgspec
import pytest
from tests.conftest import INQUIRY_FIELDS

from coverage.eligibility.benefits import VerificationResult, VerifiedBenefits
from coverage.eligibility.client import interpret
from coverage.eligibility.inquiry import build_request
from coverage.errors import InputError
from coverage.estimate import EstimateRequest, estimate, estimate_with_terms
from coverage.money import Percent
from coverage.plans import LoadedPlan, PlanCatalog, parse_plan
from coverage.pricing.terms import CostTerms, SourcedValue, build_terms
from coverage.pricing.verification import (
    VerifiedMet,
    apply_verification,
    usable_verification,
    verification_assumptions,
    verified_met,
)
from coverage.stores.sqlite import SqliteVerificationStore

DATA = Path(__file__).parent / "data" / "eligibility"
VERIFIED_ON = dt.date(2026, 3, 2)
START = dt.date(2026, 3, 9)  # a Monday

# A plan file whose values all differ from what the canned responses verify.
PLAN = parse_plan(
    """
id = "test-ppo"
name = "Test PPO"
payer = "Test payer"
kind = "commercial"
plan_year_start = "01-01"
effective = { start = "2026-01-01", end = "2026-12-31" }

[accumulators.in_network]
deductible_individual = "2000.00"
deductible_family = "4000.00"
oop_max_individual = "8000.00"

[benefits.mh_office.in_network]
allowed = "130.00"
copay = "40.00"
coinsurance = "0%"
deductible_applies = false

[benefits.mh_iop.in_network]
allowed = "450.00"
coinsurance = "30%"
deductible_applies = true
prior_auth = true
auth_initial_units = 12
auth_review_units = 6
no_auth = "penalty:50%"

[benefits.mh_php.in_network]
allowed = "900.00"
coinsurance = "30%"
deductible_applies = true
""",
    "plans/test-ppo.toml",
)


def verified(source: str | dict[str, object]) -> VerifiedBenefits:
    if isinstance(source, str):
        answer = httpx.Response(200, content=(DATA / source).read_bytes())
    else:
        answer = httpx.Response(200, json=source)
    benefits = interpret(answer, attempts=1, control_number="000000042", timeout_s=15).benefits
    assert benefits is not None
    return benefits


def merged_terms(loaded: LoadedPlan, benefits: VerifiedBenefits) -> CostTerms:
    return apply_verification(build_terms(loaded, "in", "mh"), benefits, 7, VERIFIED_ON)


def test_verified_values_override_the_plan_file_and_cite_the_verification() -> None:
    plan_terms = build_terms(PLAN, "in", "mh")
    terms = apply_verification(plan_terms, verified("ppo_mh_copay_iop_coinsurance.json"), 7, VERIFIED_ON)
    office, iop, php = (terms.benefits[level] for level in ("op", "iop", "php"))
    assert office is not None and iop is not None and php is not None
    assert (office.copay_cents, office.coinsurance) == (3000, Percent.parse("0%"))
    assert (iop.copay_cents, iop.coinsurance, php.coinsurance) == (
        0,
        Percent.parse("20%"),
        Percent.parse("20%"),
    )
    assert terms.limits is not None
    assert (terms.limits.deductible_individual_cents, terms.limits.deductible_family_cents) == (
        150000,
        300000,
    )
    assert (terms.limits.oop_max_individual_cents, terms.limits.oop_max_family_cents) == (600000, 1200000)
    assert terms.sources["mh_office.copay"] == SourcedValue(
        "mh_office.copay",
        "$30.00",
        "verification #7 (2026-03-02): "
        "STC CF/A6 (Mental Health Provider - Outpatient; Psychotherapy), in network",
    )
    assert terms.sources["oop_max_family"].source == (
        "verification #7 (2026-03-02): STC 30 (Health Benefit Plan Coverage), in network"
    )
    # What the payer did not state keeps the plan file's value and source.
    assert iop.allowed_cents == 45000 and iop.auth_initial_units == 12
    assert terms.sources["mh_iop.allowed"] == plan_terms.sources["mh_iop.allowed"]
    assert (
        terms.sources["mh_iop.allowed"].source
        == "plan file plans/test-ppo.toml [benefits.mh_iop.in_network.allowed]"
    )
    assert (
        plan_terms.benefits["op"] is not None and plan_terms.benefits["op"].copay_cents == 4000
    )  # not mutated


def test_merged_estimate_prices_with_verified_copay() -> None:
    request = EstimateRequest(plan_id="test-ppo", start_date=START, horizon_weeks=26)
    terms = merged_terms(PLAN, verified("ppo_mh_copay_iop_coinsurance.json"))
    plan_only = estimate_with_terms(PLAN, request, build_terms(PLAN, "in", "mh"))
    merged = estimate_with_terms(PLAN, request, terms)
    weekly_plan, weekly = plan_only.scenarios[0], merged.scenarios[0]
    assert weekly.name == "weekly" and weekly.totals.units == 26
    assert weekly_plan.totals.member_cost_cents == 26 * 4000
    assert (weekly.totals.member_cost_cents, weekly.totals.copay_cents) == (26 * 3000, 26 * 3000)
    assert weekly.totals.plan_paid_cents == 26 * (13000 - 3000)
    assert (
        SourcedValue(
            "mh_office.copay",
            "$30.00",
            "verification #7 (2026-03-02): "
            "STC CF/A6 (Mental Health Provider - Outpatient; Psychotherapy), in network",
        )
        in merged.sources
    )


def test_met_amounts_come_from_total_minus_remaining_and_price_the_rest_of_the_deductible() -> None:
    benefits = verified("deductible_remaining.json")
    terms = merged_terms(PLAN, benefits)
    met = verified_met(terms, benefits, 7, VERIFIED_ON, START)
    assert met == VerifiedMet(
        deductible_met_cents=111255,
        oop_met_cents=111255,
        sources=[
            SourcedValue(
                "deductible_met",
                "$1,112.55",
                "verification #7 (2026-03-02): total minus remaining, as of 2026-03-02",
            ),
            SourcedValue(
                "oop_met",
                "$1,112.55",
                "verification #7 (2026-03-02): total minus remaining, as of 2026-03-02",
            ),
        ],
    )
    assert terms.limits is not None and terms.limits.deductible_individual_cents == 330000
    request = EstimateRequest(
        plan_id="test-ppo",
        start_date=START,
        deductible_met_cents=met.deductible_met_cents or 0,
        oop_met_cents=met.oop_met_cents or 0,
    )
    iop = estimate_with_terms(PLAN, request, terms).scenarios[1]
    assert iop.name == "iop"
    first_month = iop.months[0]  # March: 10 IOP days (Mon/Wed/Fri) at $450 from 2026-03-09
    assert (first_month.units, first_month.allowed_cents) == (10, 450000)
    # $2,187.45 of deductible remains: four days pay $1,800.00, the fifth $387.45 and 20% of $62.55.
    assert first_month.deductible_cents == 218745
    assert first_month.coinsurance_cents == 1251 + 5 * 9000
    assert first_month.accumulators.deductible_remaining_cents == 0


def test_remaining_without_total_is_measured_against_the_merged_limit() -> None:
    benefits = verified(
        {
            "benefitsInformation": [
                {
                    "code": "C",
                    "serviceTypeCodes": ["30"],
                    "coverageLevelCode": "IND",
                    "timeQualifierCode": "29",
                    "benefitAmount": "1250",
                    "inPlanNetworkIndicatorCode": "Y",
                },
            ]
        }
    )
    terms = merged_terms(PLAN, benefits)
    assert terms.limits is not None and terms.limits.deductible_individual_cents == 200000  # plan file kept
    met = verified_met(terms, benefits, 7, VERIFIED_ON, START)
    assert met.deductible_met_cents == 75000
    assert met.sources[0].source == (
        "verification #7 (2026-03-02): the limit $2,000.00 minus the payer's remaining $1,250.00, "
        "as of 2026-03-02"
    )


def test_met_amounts_from_an_earlier_plan_year_are_not_used() -> None:
    benefits = verified("deductible_remaining.json")
    met = verified_met(merged_terms(PLAN, benefits), benefits, 7, dt.date(2025, 12, 30), START)
    assert met == VerifiedMet(
        notes=[
            "verification #7 (2025-12-30) is from an earlier plan year than 2026-03-09; "
            "its met amounts and visits remaining are not used"
        ]
    )


def test_met_amounts_from_a_later_plan_year_are_not_used_and_said_to_be_later() -> None:
    benefits = verified("deductible_remaining.json")
    met = verified_met(merged_terms(PLAN, benefits), benefits, 7, dt.date(2027, 1, 4), START)
    assert met == VerifiedMet(
        notes=[
            "verification #7 (2027-01-04) is from a later plan year than 2026-03-09; "
            "its met amounts and visits remaining are not used"
        ]
    )


def test_levels_that_disagree_on_a_limit_leave_the_plan_value() -> None:
    benefits = verified(
        {
            "benefitsInformation": [
                {
                    "code": "C",
                    "serviceTypeCodes": ["CF"],
                    "coverageLevelCode": "IND",
                    "timeQualifierCode": "23",
                    "benefitAmount": "1000",
                    "inPlanNetworkIndicatorCode": "Y",
                },
                {
                    "code": "C",
                    "serviceTypeCodes": ["CH"],
                    "coverageLevelCode": "IND",
                    "timeQualifierCode": "23",
                    "benefitAmount": "2500",
                    "inPlanNetworkIndicatorCode": "Y",
                },
            ]
        }
    )
    terms = merged_terms(PLAN, benefits)
    assert terms.limits is not None and terms.limits.deductible_individual_cents == 200000
    assert terms.sources["deductible_individual"].source.startswith("plan file")


def test_a_verified_limit_cites_the_level_that_stated_its_total() -> None:
    benefits = verified(
        {
            "benefitsInformation": [
                {
                    "code": "C",
                    "serviceTypeCodes": ["CF"],
                    "coverageLevelCode": "IND",
                    "timeQualifierCode": "29",
                    "benefitAmount": "400",
                    "inPlanNetworkIndicatorCode": "Y",
                },
                {
                    "code": "C",
                    "serviceTypeCodes": ["CH"],
                    "coverageLevelCode": "IND",
                    "timeQualifierCode": "23",
                    "benefitAmount": "1000",
                    "inPlanNetworkIndicatorCode": "Y",
                },
            ]
        }
    )
    terms = merged_terms(PLAN, benefits)
    assert terms.limits is not None and terms.limits.deductible_individual_cents == 100000
    assert terms.sources["deductible_individual"].source == (
        "verification #7 (2026-03-02): STC CH (Mental Health Facility - Outpatient), in network"
    )


def test_prior_auth_and_coverage_follow_the_payer_only_where_they_can_be_priced() -> None:
    benefits = verified(
        {
            "benefitsInformation": [
                {
                    "code": "A",
                    "serviceTypeCodes": ["CF"],
                    "benefitPercent": "0",
                    "authOrCertIndicator": "Y",
                    "inPlanNetworkIndicatorCode": "Y",
                },
                {
                    "code": "A",
                    "serviceTypeCodes": ["CH"],
                    "benefitPercent": "0.1",
                    "authOrCertIndicator": "N",
                    "inPlanNetworkIndicatorCode": "Y",
                },
                {"code": "I", "serviceTypeCodes": ["BB"], "inPlanNetworkIndicatorCode": "Y"},
            ]
        }
    )
    terms = merged_terms(PLAN, benefits)
    office, iop = terms.benefits["op"], terms.benefits["iop"]
    assert office is not None and iop is not None
    assert office.prior_auth is False  # payer requires it, but the plan file has no terms to price it
    assert terms.sources["mh_office.prior_auth"].source.endswith(
        "says prior authorization IS required, but the plan file has no authorization terms (initial units, "
        "no-auth policy) to price it with: not applied"
    )
    assert (iop.prior_auth, iop.coinsurance) == (False, Percent.parse("10%"))
    assert terms.benefits["php"] is None  # BB not covered: priced at the self-pay rate
    assert terms.sources["mh_php.self_pay"] == SourcedValue(
        "mh_php.self_pay", "$900.00", "verification #7 (2026-03-02): the payer states this is not covered"
    )


def test_assumptions_keep_the_notes_for_this_category_and_network() -> None:
    benefits = verified("deductible_remaining.json")
    assert verification_assumptions(build_terms(PLAN, "in", "mh"), benefits, 7, VERIFIED_ON) == [
        "verification #7 (2026-03-02): Mental health: the payer did not distinguish office, IOP and PHP; the "
        "same values apply to all three levels",
        "verification #7 (2026-03-02): Mental health, in network: coverage status, individual deductible, "
        "individual out-of-pocket maximum taken from STC 30 (health benefit plan coverage) because the payer "
        "returned nothing more specific",
        # the payer's 20% (STC 30) replaces the plan's 0% for office therapy; its $40 copay stays
        "verification #7 (2026-03-02): mh_office: the payer states 20% coinsurance but no copay; the plan "
        "file's $40.00 copay is kept, so both apply. Confirm with the payer.",
    ]


def test_only_a_verified_record_for_the_same_plan_can_be_used(tmp_path: Path) -> None:
    store = SqliteVerificationStore(tmp_path / "vob.sqlite")
    request = build_request(
        INQUIRY_FIELDS,
        today=VERIFIED_ON,
    )
    good = interpret(
        httpx.Response(200, content=(DATA / "out_of_network.json").read_bytes()), 1, "000000042", 15
    )
    good_id = store.save(request, good, "intake-1", plan_id="test-ppo")
    rejected_id = store.save(
        request, VerificationResult("rejected", "payer rejected the inquiry", attempts=1), "x"
    )
    assert usable_verification(store.get(good_id), good_id, "test-ppo") == good.benefits
    cases = [
        (store.get(99), 99, "test-ppo", "no verification #99 is stored"),
        (
            store.get(rejected_id),
            rejected_id,
            "test-ppo",
            "did not verify benefits: payer rejected the inquiry",
        ),
        (store.get(good_id), good_id, "other-plan", "was for plan 'test-ppo', not 'other-plan'"),
    ]
    for record, record_id, plan_id, message in cases:
        with pytest.raises(InputError, match=message) as caught:
            usable_verification(record, record_id, plan_id)
        assert caught.value.field == "verification_id"


def test_estimate_with_a_verification_id_uses_verified_terms_and_met_amounts(tmp_path: Path) -> None:
    store = SqliteVerificationStore(tmp_path / "vob.sqlite")
    inquiry = build_request(
        INQUIRY_FIELDS,
        today=VERIFIED_ON,
    )
    answer = interpret(
        httpx.Response(200, content=(DATA / "deductible_remaining.json").read_bytes()), 1, "000000042", 15
    )
    record_id = store.save(
        inquiry, answer, "intake-1", plan_id="test-ppo", now=dt.datetime(2026, 3, 2, 15, tzinfo=dt.UTC)
    )
    catalog = PlanCatalog({"test-ppo": PLAN}, [])
    request = EstimateRequest(plan_id="test-ppo", start_date=START, verification_id=record_id)
    result = estimate(catalog, request, store.get(record_id))
    # Verified: deductible $3,300 with $2,187.45 remaining -> $1,112.55 met (also OOP met).
    # March IOP (10 days x $450 from 2026-03-09): four days $1,800.00 to the deductible, the fifth
    # $387.45 + 20% x $62.55 = $12.51, then 5 days x 20% x $450 = $450.
    march = result.scenarios[1].months[0]
    assert (march.deductible_cents, march.coinsurance_cents) == (218745, 1251 + 5 * 9000)
    sources = {source.name: source.source for source in result.sources}
    assert sources["deductible_met"].startswith(f"verification #{record_id} (")
    assert any(line.startswith(f"verification #{record_id}") for line in result.assumptions)
    # An amount given in the request wins over the verified one.
    given = msgspec.structs.replace(request, deductible_met_cents=330000, oop_met_cents=330000)
    march_given = estimate(catalog, given, store.get(record_id)).scenarios[1].months[0]
    assert (march_given.deductible_cents, march_given.coinsurance_cents) == (0, 10 * 9000)
    # Without the record the id cannot be resolved: a 4xx-style error naming the field.
    with pytest.raises(InputError) as caught:
        estimate(catalog, request)
    assert caught.value.field == "verification_id"
