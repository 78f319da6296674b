"""Benefit verification against canned 271 JSON (respx; no network, no sleeping)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import respx
from tests.conftest import INQUIRY_FIELDS

from coverage.eligibility.benefits import Accumulator, VerificationResult
from coverage.eligibility.client import EligibilityClient, RetryPolicy
from coverage.eligibility.codes import REQUESTED_STCS
from coverage.eligibility.config import EligibilityConfig
from coverage.eligibility.inquiry import build_request, build_staff_request, npi_check_digit_ok
from coverage.errors import InputError
from coverage.stores.sqlite import SqliteVerificationStore

DATA = Path(__file__).parent / "data" / "eligibility"
URL = "https://clearinghouse.test/change/medicalnetwork/eligibility/v3"
CONFIG = EligibilityConfig(url=URL, api_key="test-key", timeout_s=15.0)
FIELDS = INQUIRY_FIELDS
REQUEST = build_request(FIELDS, today=dt.date(2026, 3, 1))


def canned(name: str, status: int = 200) -> httpx.Response:
    return httpx.Response(
        status, content=(DATA / name).read_bytes(), headers={"Content-Type": "application/json"}
    )


def make_client(sleeps: list[float], policy: RetryPolicy | None = None) -> EligibilityClient:
    async def async_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    return EligibilityClient(
        CONFIG, policy, sleep=sleeps.append, async_sleep=async_sleep, control_numbers=lambda: "000000042"
    )


def verify_with(*answers: httpx.Response | Exception) -> tuple[VerificationResult, respx.Route, list[float]]:
    sleeps: list[float] = []
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(URL).mock(side_effect=list(answers))
        result = make_client(sleeps).verify(REQUEST)
    return result, route, sleeps


# --- mapping ------------------------------------------------------------------------------


def test_ppo_office_copay_and_iop_coinsurance_map_per_level_and_network() -> None:
    result, route, sleeps = verify_with(canned("ppo_mh_copay_iop_coinsurance.json"))
    assert (result.outcome, result.message, route.call_count, sleeps) == (
        "verified",
        "benefits verified",
        1,
        [],
    )
    assert result.http_status == 200 and result.attempts == 1
    assert result.trace_number == "TRN-PPO-0001"  # the payer's TRN (type 1), not our echoed one
    assert result.control_number == "000000042"
    benefits = result.benefits
    assert benefits is not None
    assert (benefits.payer_name, benefits.plan_coverage, benefits.active) == (
        "ACME HEALTH (SAMPLE)",
        "Acme PPO Gold",
        True,
    )
    assert (benefits.coverage_start, benefits.coverage_end) == (dt.date(2026, 1, 1), dt.date(2026, 12, 31))

    office = benefits.level("mh", "op", "in")
    assert (office.copay_cents, office.coinsurance) == (3000, Decimal("0"))
    assert office.sources["copay_cents"] == (
        "STC CF/A6 (Mental Health Provider - Outpatient; Psychotherapy), in network"
    )
    iop = benefits.level("mh", "iop", "in")
    assert (iop.copay_cents, iop.coinsurance) == (0, Decimal("0.2"))
    assert iop.sources["coinsurance"] == "STC CH (Mental Health Facility - Outpatient), in network"
    php = benefits.level("mh", "php", "in")
    assert (php.copay_cents, php.coinsurance) == (0, Decimal("0.2"))

    assert iop.deductible_individual == Accumulator(total_cents=150000, period="calendar year")
    assert iop.deductible_family == Accumulator(total_cents=300000, period="calendar year")
    assert iop.oop_individual == Accumulator(total_cents=600000, period="calendar year")
    assert iop.oop_family == Accumulator(total_cents=1200000, period="calendar year")
    assert iop.sources["deductible_individual"] == "STC 30 (Health Benefit Plan Coverage), in network"

    out_of_network = benefits.level("mh", "iop", "out")
    assert (out_of_network.copay_cents, out_of_network.coinsurance) == (None, Decimal("0.4"))
    assert out_of_network.deductible_individual == Accumulator(total_cents=300000, period="calendar year")
    assert out_of_network.deductible_family is None  # not stated out of network: never filled in

    sud_office, sud_iop = benefits.level("sud", "op", "in"), benefits.level("sud", "iop", "in")
    assert (sud_office.copay_cents, sud_office.coinsurance) == (3000, None)
    # CJ states 20% and no copay: the office copay of AI/AJ/AK is not carried over to IOP days.
    assert (sud_iop.copay_cents, sud_iop.coinsurance) == (None, Decimal("0.2"))
    assert (
        "Mental health, in network: individual deductible, family deductible, individual out-of-pocket "
        "maximum, family out-of-pocket maximum taken from STC 30 (health benefit plan coverage) because "
        "the payer returned nothing more specific"
    ) in benefits.notes
    assert not any("did not distinguish" in note for note in benefits.notes)


def test_request_carries_subscriber_provider_and_mh_sud_service_types() -> None:
    _, route, _ = verify_with(canned("ppo_mh_copay_iop_coinsurance.json"))
    sent = route.calls.last.request
    assert sent.headers["Authorization"] == "test-key"
    assert json.loads(sent.content) == {
        "controlNumber": "000000042",
        "tradingPartnerServiceId": "ACMEH",
        "provider": {"organizationName": "Sample Behavioral Health", "npi": "1234567893"},
        "subscriber": {
            "memberId": "ZZA123456789",
            "firstName": "Jane",
            "lastName": "Doe",
            "dateOfBirth": "19900215",
        },
        "encounter": {
            "dateOfService": "20260302",
            "serviceTypeCodes": [
                "MH",
                "CF",
                "CH",
                "A4",
                "A6",
                "A7",
                "A8",
                "BB",
                "AI",
                "AJ",
                "AK",
                "CI",
                "CJ",
            ],
        },
    }
    assert list(REQUESTED_STCS) == json.loads(sent.content)["encounter"]["serviceTypeCodes"]


def test_deductible_total_and_remaining_give_met_exactly() -> None:
    result, _, _ = verify_with(canned("deductible_remaining.json"))
    assert result.benefits is not None
    for level in ("op", "iop", "php"):
        benefits = result.benefits.level("mh", level, "in")
        assert benefits.coinsurance == Decimal("0.2")
        assert benefits.deductible_individual == Accumulator(
            total_cents=330000, remaining_cents=218745, met_cents=111255, period="calendar year"
        )
        assert benefits.oop_individual == Accumulator(
            total_cents=700000, remaining_cents=588745, met_cents=111255, period="calendar year"
        )
    assert (
        "Mental health: the payer did not distinguish office, IOP and PHP; the same values apply to all "
        "three levels"
    ) in result.benefits.notes
    assert "Mental health, out of network: the payer returned no cost-sharing values" in result.benefits.notes


def test_family_and_individual_accumulators_are_kept_apart() -> None:
    result, _, _ = verify_with(canned("family_individual.json"))
    assert result.benefits is not None
    office = result.benefits.level("mh", "op", "in")
    assert office.copay_cents == 2000
    assert office.deductible_individual == Accumulator(100000, 40000, None, 60000, "service year")
    assert office.deductible_family == Accumulator(300000, 250000, None, 50000, "service year")
    assert office.oop_individual == Accumulator(400000, 300000, None, 100000, "service year")
    # Family OOP came as total + year-to-date (no remaining): met is the payer's year-to-date figure.
    assert office.oop_family == Accumulator(800000, None, 125050, 125050, "service year")
    # W (not applicable) means the same benefit in and out of network.
    assert result.benefits.level("sud", "php", "out").deductible_family == office.deductible_family
    assert office.sources["deductible_family"] == (
        "STC 30 (Health Benefit Plan Coverage), same in and out of network"
    )


def test_prior_auth_on_iop_and_visit_limits_on_office() -> None:
    result, _, _ = verify_with(canned("prior_auth_iop.json"))
    assert result.benefits is not None
    mh = {level: result.benefits.level("mh", level, "in") for level in ("op", "iop", "php")}
    assert (mh["op"].prior_auth, mh["iop"].prior_auth, mh["php"].prior_auth) == (False, True, True)
    assert (mh["op"].copay_cents, mh["iop"].coinsurance) == (2500, Decimal("0.1"))
    assert (mh["op"].visit_limit, mh["op"].visits_remaining) == (30, 22)
    assert (mh["iop"].visit_limit, mh["iop"].visits_remaining) == (None, None)
    assert result.benefits.level("sud", "iop", "in").prior_auth is True
    assert result.benefits.level("sud", "op", "in").prior_auth is None  # nothing stated: unknown
    assert result.benefits.level("mh", "iop", "out").prior_auth is None


def test_out_of_network_response_leaves_in_network_values_unknown() -> None:
    result, _, _ = verify_with(canned("out_of_network.json"))
    assert result.benefits is not None
    inside, outside = result.benefits.level("mh", "iop", "in"), result.benefits.level("mh", "iop", "out")
    assert inside.active is True  # STC 30 active coverage, network not stated
    assert (inside.copay_cents, inside.coinsurance, inside.deductible_individual, inside.oop_individual) == (
        None,
        None,
        None,
        None,
    )
    assert outside.coinsurance == Decimal("0.4")
    assert outside.deductible_individual == Accumulator(300000, 300000, None, 0, "calendar year")
    assert outside.oop_individual == Accumulator(1200000, 1150000, None, 50000, "calendar year")
    assert "Mental health, in network: the payer returned no cost-sharing values" in result.benefits.notes


def benefits_response(*entries: dict[str, object]) -> httpx.Response:
    return httpx.Response(200, json={"benefitsInformation": list(entries)})


def test_unusable_values_are_dropped_with_a_note_never_guessed() -> None:
    result, _, _ = verify_with(
        benefits_response(
            {
                "code": "A",
                "serviceTypeCodes": ["MH"],
                "benefitPercent": "20",
                "inPlanNetworkIndicatorCode": "Y",
            },
            {
                "code": "B",
                "serviceTypeCodes": ["MH"],
                "benefitAmount": "-5",
                "inPlanNetworkIndicatorCode": "Y",
            },
            {
                "code": "B",
                "serviceTypeCodes": ["CF"],
                "benefitAmount": "30",
                "inPlanNetworkIndicatorCode": "Y",
            },
            {
                "code": "B",
                "serviceTypeCodes": ["CF"],
                "benefitAmount": "40",
                "inPlanNetworkIndicatorCode": "Y",
            },
            {"code": "C", "serviceTypeCodes": ["30"], "benefitAmount": "500", "coverageLevelCode": "IND"},
        )
    )
    assert result.outcome == "verified" and result.benefits is not None
    office, iop = result.benefits.level("mh", "op", "in"), result.benefits.level("mh", "iop", "in")
    assert office.copay_cents is None  # 30 vs 40 for the same code: conflicting, not picked
    assert (iop.copay_cents, iop.coinsurance) == (None, None)
    assert iop.deductible_individual is None  # an amount without a time qualifier is not a total
    notes = result.benefits.notes
    assert (
        "Mental health office, in network: the payer gave conflicting copays ($30.00, $40.00); not used"
        in notes
    )
    assert "Mental health IOP, in network: benefitPercent 20 is outside X12's 0-1 range; not used" in notes
    assert "Mental health IOP, in network: benefitAmount -5 is not a dollar amount; not used" in notes
    assert (
        "Mental health IOP, in network: individual deductible of $500 has no time qualifier; not used"
        in notes
    )


def test_an_amount_beyond_decimal_precision_is_dropped_not_raised() -> None:
    result, _, _ = verify_with(
        benefits_response(
            {
                "code": "B",
                "serviceTypeCodes": ["CF"],
                "benefitAmount": "1E+30",
                "inPlanNetworkIndicatorCode": "Y",
            }
        )
    )
    assert result.outcome == "verified" and result.benefits is not None
    assert result.benefits.level("mh", "op", "in").copay_cents is None
    assert (
        "Mental health office, in network: benefitAmount 1E+30 is not a dollar amount; not used"
        in result.benefits.notes
    )


def test_plan_wide_stc_30_is_only_a_fallback() -> None:
    result, _, _ = verify_with(
        benefits_response(
            {
                "code": "A",
                "serviceTypeCodes": ["30"],
                "benefitPercent": "0.3",
                "inPlanNetworkIndicatorCode": "Y",
            },
            {
                "code": "A",
                "serviceTypeCodes": ["AI"],
                "benefitPercent": "0.1",
                "inPlanNetworkIndicatorCode": "Y",
            },
        )
    )
    assert result.benefits is not None
    assert result.benefits.level("sud", "op", "in").coinsurance == Decimal("0.1")
    assert result.benefits.level("mh", "op", "in").coinsurance == Decimal("0.3")
    assert (
        "Mental health, in network: coinsurance taken from STC 30 (health benefit plan coverage) because the "
        "payer returned nothing more specific"
    ) in result.benefits.notes


# --- failures -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code", "wording"),
    [
        (
            "reject_72_invalid_member_id.json",
            "72",
            "the member ID is invalid or missing; check the insurance card",
        ),
        ("reject_42_unable_to_respond.json", "42", "the payer's system cannot respond right now"),
        ("reject_75_subscriber_not_found.json", "75", "the payer cannot find this subscriber"),
    ],
)
def test_aaa_rejections_get_clear_messages_and_are_stored(
    name: str, code: str, wording: str, tmp_path: Path
) -> None:
    result, route, sleeps = verify_with(canned(name))
    assert (result.outcome, route.call_count, sleeps, result.benefits) == ("rejected", 1, [], None)
    assert result.message.startswith(f"payer rejected the inquiry: {wording}")
    assert result.message.endswith(f"(AAA {code})")
    assert [rejection.code for rejection in result.rejections] == [code]
    assert result.trace_number == f"TRN-R{code}"

    store = SqliteVerificationStore(tmp_path / "vob.sqlite")
    record = store.get(store.save(REQUEST, result, performed_by="intake-1"))
    assert record is not None
    assert (record.outcome, record.message, record.trace_number) == (
        "rejected",
        result.message,
        f"TRN-R{code}",
    )
    assert record.raw_response == (DATA / name).read_text()
    assert record.rejections[0].followup_action in ("Please Correct and Resubmit", "Resubmission Allowed")


def test_timeout_then_success_retries_once_with_backoff(tmp_path: Path) -> None:
    result, route, sleeps = verify_with(
        httpx.ReadTimeout("slow"), canned("ppo_mh_copay_iop_coinsurance.json")
    )
    assert (result.outcome, route.call_count, result.attempts, sleeps) == ("verified", 2, 2, [0.5])
    store = SqliteVerificationStore(tmp_path / "vob.sqlite")
    record = store.get(store.save(REQUEST, result, performed_by="intake-1", plan_id="acme-ppo-gold-2026"))
    assert record is not None
    assert (record.attempts, record.plan_id, record.http_status) == (2, "acme-ppo-gold-2026", 200)
    assert record.benefits == result.benefits
    assert record.request == REQUEST


def test_server_errors_are_retried_a_bounded_number_of_times() -> None:
    result, route, sleeps = verify_with(*[httpx.Response(503)] * 5)
    assert (result.outcome, route.call_count, sleeps) == ("unavailable", 3, [0.5, 1.0])
    assert result.message == "the clearinghouse answered HTTP 503 after 3 attempt(s); try again later"


def test_429_waits_as_long_as_retry_after_asks_within_the_cap() -> None:
    result, route, sleeps = verify_with(
        httpx.Response(429, headers={"Retry-After": "3"}), canned("deductible_remaining.json")
    )
    assert (result.outcome, route.call_count, sleeps) == ("verified", 2, [3.0])


def test_connection_failures_end_unavailable_without_a_response() -> None:
    result, route, sleeps = verify_with(*[httpx.ConnectError("refused")] * 3)
    assert (result.outcome, route.call_count, sleeps) == ("unavailable", 3, [0.5, 1.0])
    assert result.message == (
        "the clearinghouse could not be reached (ConnectError, 15 s timeout) after 3 attempt(s); "
        "try again later"
    )
    assert (result.http_status, result.raw_response, result.benefits) == (None, None, None)


def test_400_is_not_retried() -> None:
    result, route, sleeps = verify_with(canned("http_400_bad_request.json", status=400))
    assert (result.outcome, route.call_count, sleeps, result.http_status) == ("rejected", 1, [], 400)
    assert result.message == (
        "the clearinghouse refused the request (HTTP 400): payer rejected the inquiry: "
        "dateOfBirth must be formatted as YYYYMMDD"
    )


def test_malformed_json_is_an_invalid_response_kept_verbatim() -> None:
    result, route, _ = verify_with(canned("malformed.json"))
    assert (result.outcome, route.call_count, result.benefits) == ("invalid_response", 1, None)
    assert result.message.startswith("the response is not a usable 271: JSON is malformed")
    assert result.raw_response == (DATA / "malformed.json").read_text()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"meta": {"traceId": "x"}}, "the response has neither benefitsInformation nor errors"),
        (
            {"benefitsInformation": [{"serviceTypeCodes": ["MH"]}]},
            "the response is not a usable 271: "
            "Object missing required field `code` - at `$.benefitsInformation[0]`",
        ),
        (
            {"benefitsInformation": [{"code": "B", "serviceTypeCodes": ["MH"], "benefitAmount": "thirty"}]},
            "the response is not a usable 271: "
            "Invalid decimal string - at `$.benefitsInformation[0].benefitAmount`",
        ),
        ([1, 2], "the response is not a usable 271: Expected `object`, got `array`"),
    ],
)
def test_missing_or_mistyped_fields_are_invalid_responses(body: object, message: str) -> None:
    result, _, _ = verify_with(httpx.Response(200, json=body))
    assert (result.outcome, result.message, result.benefits) == ("invalid_response", message, None)


def test_unconfigured_verification_fails_clearly_without_calling_out() -> None:
    with respx.mock(assert_all_called=False) as mock:
        route = mock.route()
        result = EligibilityClient(EligibilityConfig()).verify(REQUEST)
    assert route.call_count == 0
    assert result.outcome == "not_configured"
    assert "set COVERAGE_ELIGIBILITY_URL" in result.message


def test_async_client_shares_the_retry_policy_and_mapping() -> None:
    sleeps: list[float] = []
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(URL).mock(
            side_effect=[httpx.ConnectTimeout("slow"), canned("ppo_mh_copay_iop_coinsurance.json")]
        )
        result = asyncio.run(make_client(sleeps).verify_async(REQUEST))
    sync_result, _, _ = verify_with(canned("ppo_mh_copay_iop_coinsurance.json"))
    assert (result.outcome, route.call_count, sleeps) == ("verified", 2, [0.5])
    assert result.benefits == sync_result.benefits


def test_logs_carry_no_member_data(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    verify_with(httpx.ReadTimeout("slow"), canned("reject_75_subscriber_not_found.json"))
    verify_with(canned("ppo_mh_copay_iop_coinsurance.json"))
    assert "outcome=rejected" in caplog.text and "outcome=verified" in caplog.text
    for phi in ("ZZA123456789", "Jane", "Doe", "1990", "19900215"):
        assert phi not in caplog.text


# --- request and configuration ------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"member_id": "ZZ 123"},
            "member_id",
            "must be 2-80 letters, digits or hyphens, as printed on the insurance card",
        ),
        ({"date_of_birth": "02/15/1990"}, "date_of_birth", "must be a date YYYY-MM-DD"),
        ({"date_of_birth": "2027-01-01"}, "date_of_birth", "is in the future"),
        ({"date_of_service": "1989-01-01"}, "date_of_birth", "is after the date of service"),
        ({"provider_npi": "1234567890"}, "provider_npi", "fails the NPI check digit (typo?)"),
        ({"first_name": "  "}, "first_name", "must be 1-60 characters"),
        (
            {"payer_id": None},
            "payer_id",
            "must be the clearinghouse payer id (trading partner service id), without spaces",
        ),
    ],
)
def test_bad_request_values_name_the_field_without_echoing_it(
    change: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(InputError) as caught:
        build_request(FIELDS | change, today=dt.date(2026, 3, 1))
    assert (caught.value.field, caught.value.message) == (field, message)


def test_missing_request_field_is_named() -> None:
    fields = {key: value for key, value in FIELDS.items() if key != "last_name"}
    with pytest.raises(InputError, match="last_name: is required"):
        build_request(fields)


def test_staff_requests_take_the_provider_from_config_and_the_service_date_from_today() -> None:
    config = EligibilityConfig(provider_npi="1234567893", provider_name="Sample Behavioral Health")
    given = FIELDS | {"date_of_service": None, "provider_npi": None, "provider_name": ""}
    request = build_staff_request(given, config, today=dt.date(2026, 3, 1))
    assert (request.date_of_service, request.provider_npi, request.provider_name) == (
        dt.date(2026, 3, 1),
        "1234567893",
        "Sample Behavioral Health",
    )
    assert build_staff_request(FIELDS, EligibilityConfig(), today=dt.date(2026, 3, 1)) == REQUEST
    with pytest.raises(InputError, match="provider_npi: is required"):
        build_staff_request(FIELDS | {"provider_npi": None}, EligibilityConfig())


def test_npi_check_digit() -> None:
    assert npi_check_digit_ok("1234567893")
    assert not npi_check_digit_ok("1234567894")


def test_config_from_environment() -> None:
    assert EligibilityConfig.from_env({}) == EligibilityConfig()
    config = EligibilityConfig.from_env(
        {
            "COVERAGE_ELIGIBILITY_URL": URL,
            "COVERAGE_ELIGIBILITY_API_KEY": "k",
            "COVERAGE_ELIGIBILITY_TIMEOUT": "7.5",
            "COVERAGE_PROVIDER_NPI": "1234567893",
        }
    )
    assert (config.url, config.api_key, config.timeout_s, config.provider_npi) == (
        URL,
        "k",
        7.5,
        "1234567893",
    )
    assert config.problem() is None
    assert (
        EligibilityConfig(url="ftp://x").problem()
        == "COVERAGE_ELIGIBILITY_URL must be an http(s) URL, got 'ftp://x'"
    )
    with pytest.raises(ValueError, match="COVERAGE_ELIGIBILITY_TIMEOUT must be seconds"):
        EligibilityConfig.from_env({"COVERAGE_ELIGIBILITY_TIMEOUT": "soon"})


def test_backoff_is_exponential_and_capped() -> None:
    policy = RetryPolicy(max_attempts=6, first_delay_s=1, max_delay_s=5)
    failure = httpx.ReadTimeout("slow")
    assert [policy.delay_before_retry(n, failure) for n in range(1, 7)] == [1, 2, 4, 5, 5, None]
    assert policy.delay_before_retry(1, httpx.Response(404)) is None
    assert policy.delay_before_retry(1, httpx.Response(200)) is None
