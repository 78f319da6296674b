"""Rules found by the held-out review (issue 10): every expected number is worked out by hand."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from litestar.testing import TestClient
from tests.conftest import INQUIRY_FIELDS, PLANS_DIR, make_plan, run

from coverage.cli import main
from coverage.eligibility.client import interpret
from coverage.eligibility.inquiry import build_request
from coverage.errors import InputError
from coverage.estimate import EstimateRequest, estimate
from coverage.plans import PlanCatalog
from coverage.stores.sqlite import SqliteVerificationStore
from coverage.web import create_app

KEY = {"X-API-Key": "test-staff-key-long-enough"}
ACME = {"plan_id": "acme-ppo-gold-2026", "start_date": "2026-03-02"}
VERIFIED_ON = dt.date(2026, 3, 2)
DERIVED_NOTE = (
    "Out-of-pocket met was not given: taken as the deductible met, $500.00 "
    "(deductible payments count toward the out-of-pocket maximum)."
)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COVERAGE_API_KEYS", "test-staff-key-long-enough")
        with TestClient(create_app(PLANS_DIR)) as test_client:
            yield test_client


def by_name(scenarios: list[dict]) -> dict[str, dict]:
    return {scenario["name"]: scenario for scenario in scenarios}


FAMILY_PLAN = """
[accumulators.in_network]
deductible_individual = "1000.00"
deductible_family = "2000.00"
oop_max_individual = "3000.00"
oop_max_family = "6000.00"

[benefits.mh_iop.in_network]
allowed = "450.00"
coinsurance = "20%"
deductible_applies = true
"""


# --- 1. deductible met given, out-of-pocket met left blank ------------------------------------

# acme PPO Gold from 2026-03-02, $500 of the $1,500 deductible met, OOP max $6,000:
# weekly: 26 x $30 copay (deductible waived) = $780.00
# iop: 24 IOP days x $450 = $10,800: $1,000 deductible left + 20% x $9,800 = $1,960; 18 x $30 = $540
#      -> $3,500.00 (OOP met $500 + $3,500 = $4,000 < $6,000)
# php: 15 PHP days x $900 = $13,500: $1,000 + 20% x $12,500 = $2,500 -> $3,500; 18 IOP days x $90 =
#      $1,620; 17 x $30 = $510 -> $5,630, capped at $6,000 - $500 = $5,500.00
DEDUCTIBLE_ONLY_TOTALS = {"weekly": 78000, "iop": 350000, "php": 550000}


def test_api_takes_oop_met_as_the_deductible_met_when_blank(client: TestClient) -> None:
    response = client.post("/estimates", json=ACME | {"deductible_met_cents": 500_00}, headers=KEY)
    assert response.status_code == 200, response.text
    body = response.json()
    totals = {name: s["totals"]["member_cost_cents"] for name, s in by_name(body["scenarios"]).items()}
    assert totals == DEDUCTIBLE_ONLY_TOTALS
    assert DERIVED_NOTE in body["assumptions"]
    sources = {source["name"]: source for source in body["sources"]}
    assert sources["oop_met"] == {
        "name": "oop_met",
        "value": "$500.00",
        "source": "not given: taken as the deductible met",
    }
    # the month-end position starts from OOP met $500: March IOP 13 days x $450 = $5,850:
    # $1,000 + 20% x $4,850 = $970 -> OOP met $500 + $1,970 = $2,470.00
    march = by_name(body["scenarios"])["iop"]["months"][0]
    assert march["accumulators"]["oop_met_cents"] == 247000


def test_cli_takes_oop_met_as_the_deductible_met_when_blank(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "estimate",
            "--plan",
            "acme-ppo-gold-2026",
            "--start",
            "2026-03-02",
            "--deductible-met",
            "500",
            "--json",
        ]
    )
    assert code == 0
    body = json.loads(capsys.readouterr().out)
    totals = {name: s["totals"]["member_cost_cents"] for name, s in by_name(body["scenarios"]).items()}
    assert totals == DEDUCTIBLE_ONLY_TOTALS
    assert DERIVED_NOTE in body["assumptions"]


def test_compare_page_takes_oop_met_as_the_deductible_met_when_blank(client: TestClient) -> None:
    form = {"plan_source": "list", **ACME, "network": "in", "category": "mh", "deductible_met": "500"}
    response = client.post("/compare", data=form)
    assert response.status_code == 200
    cards = dict(
        re.findall(r'data-scenario="(\w+)".*?<span class="amount">([^<]+)</span>', response.text, re.S)
    )
    assert cards == {"weekly": "$780.00", "iop": "$3,500.00", "php": "$5,500.00"}


def test_family_amount_below_the_individual_is_rejected_naming_the_field(client: TestClient) -> None:
    response = client.post(
        "/estimates",
        json=ACME | {"deductible_met_cents": 500_00, "family_deductible_met_cents": 400_00},
        headers=KEY,
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "field": "family_deductible_met_cents",
            "message": "$400.00 is less than the client's deductible met $500.00: the family amount "
            "includes the client's own",
        }
    ]
    response = client.post(
        "/estimates",
        json=ACME | {"oop_met_cents": 700_00, "family_oop_met_cents": 600_00},
        headers=KEY,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "family_oop_met_cents"


def test_family_oop_met_blank_is_the_larger_of_family_deductible_and_own_oop() -> None:
    loaded = make_plan(FAMILY_PLAN)
    result = run(loaded, deductible_met_cents=20000, family_deductible_met_cents=150000, pathway="iop:1x1")
    # own OOP met = own deductible met $200; family OOP met = max($1,500, $200) = $1,500.
    # one IOP day $450: family deductible left $2,000 - $1,500 = $500 < own $800 -> $450 to the deductible.
    unit_month = result.scenarios[0].months[0]
    assert unit_month.deductible_cents == 45000
    sources = {source.name: source.value for source in result.sources}
    assert (sources["oop_met"], sources["family_oop_met"]) == ("$200.00", "$1,500.00")
    assert any(
        line.startswith("Family out-of-pocket met was not given: taken as $1,500.00")
        for line in result.assumptions
    )
    assert not any(line.startswith("Family accumulators not given") for line in result.assumptions)


def stored(
    tmp_path: Path, body: dict, plan_id: str, outcome: str = "verified"
) -> tuple[SqliteVerificationStore, int]:
    """A store holding one verification of `plan_id` made on VERIFIED_ON from the 271 `body`."""
    store = SqliteVerificationStore(tmp_path / "vob.sqlite")
    result = interpret(httpx.Response(200, json=body), 1, "000000042", 15)
    assert result.outcome == outcome, result.message
    record_id = store.save(
        build_request(INQUIRY_FIELDS, today=VERIFIED_ON),
        result,
        "intake-1",
        plan_id=plan_id,
        now=dt.datetime(2026, 3, 2, 15, tzinfo=dt.UTC),
    )
    return store, record_id


def accumulator(level: str, period: str, amount: str) -> dict:
    """An EB C (deductible) entry on STC 30, in network."""
    return {
        "code": "C",
        "serviceTypeCodes": ["30"],
        "coverageLevelCode": level,
        "timeQualifierCode": period,
        "benefitAmount": amount,
        "inPlanNetworkIndicatorCode": "Y",
    }


ACTIVE = {"code": "1", "serviceTypeCodes": ["30"]}


def test_a_verification_with_deductible_met_and_no_oop_prices(tmp_path: Path, catalog: PlanCatalog) -> None:
    # the 271 states the deductible ($1,500 total, $1,000 remaining) and no out-of-pocket lines
    body = {
        "benefitsInformation": [ACTIVE, accumulator("IND", "23", "1500"), accumulator("IND", "29", "1000")]
    }
    store, record_id = stored(tmp_path, body, "acme-ppo-gold-2026")
    request = EstimateRequest(
        plan_id="acme-ppo-gold-2026", start_date=dt.date(2026, 3, 2), verification_id=record_id
    )
    result = estimate(catalog, request, store.get(record_id))
    # verified: $1,500 - $1,000 remaining = $500 met; OOP met not stated -> $500: as above.
    totals = {scenario.name: scenario.totals.member_cost_cents for scenario in result.scenarios}
    assert totals == DEDUCTIBLE_ONLY_TOTALS
    assert DERIVED_NOTE in result.assumptions


def test_estimate_input_error_for_family_names_the_field() -> None:
    loaded = make_plan(FAMILY_PLAN)
    with pytest.raises(InputError) as caught:
        run(loaded, family_deductible_met_cents=90000, family_oop_met_cents=80000)
    assert caught.value.field == "family_oop_met_cents"


def test_cli_family_amounts(capsys: pytest.CaptureFixture[str]) -> None:
    """acme PPO Gold has a $3,000 family deductible: $2,900 family met leaves $100 though the
    client has met nothing. IOP 1 day x $450: $100 deductible + 20% x $350 = $70 -> $170.00."""
    args = ["estimate", "--plan", "acme-ppo-gold-2026", "--start", "2026-03-02", "--pathway", "iop:1x1"]
    assert main([*args, "--family-deductible-met", "2900.00", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["scenarios"][0]["totals"]["member_cost_cents"] == 17000
    assert main([*args, "--family-deductible-met", "2900.00", "--family-oop-met", "2800.00"]) == 2
    assert capsys.readouterr().err.strip() == (
        "coverage: error: --family-oop-met: must be at least the family deductible met: deductible "
        "payments count toward the out-of-pocket maximum"
    )


# --- 3. visits remaining stated by the payer --------------------------------------------------

LIMITED_PLAN = """
[accumulators.in_network]
deductible_individual = "1000.00"
oop_max_individual = "5000.00"

[benefits.mh_office.in_network]
allowed = "120.00"
copay = "25.00"
coinsurance = "0%"
deductible_applies = false
billed = "180.00"
visit_limit = 30
"""


def _visit_entry(quantity: str, period: str) -> dict:
    return {
        "code": "F",
        "serviceTypeCodes": ["CF"],
        "benefitQuantity": quantity,
        "quantityQualifierCode": "VS",
        "timeQualifierCode": period,
        "inPlanNetworkIndicatorCode": "Y",
    }


def test_visits_remaining_stated_by_the_payer_are_authoritative(tmp_path: Path) -> None:
    loaded = make_plan(LIMITED_PLAN)
    catalog = PlanCatalog({"test-plan": loaded}, [])
    body = {"benefitsInformation": [ACTIVE, _visit_entry("30", "23"), _visit_entry("24", "29")]}
    store, record_id = stored(tmp_path, body, "test-plan")
    request = EstimateRequest(
        plan_id="test-plan", start_date=dt.date(2026, 3, 2), pathway="op:26", verification_id=record_id
    )
    result = estimate(catalog, request, store.get(record_id))
    scenario = result.scenarios[0]
    # 30 a year, 24 remaining: sessions 1-24 at the $25 copay, sessions 25 and 26 (2026-08-17 and
    # 2026-08-24) not covered, at the $180 self-pay rate: 24 x $25 + 2 x $180 = $600 + $360 = $960.00
    assert scenario.totals.member_cost_cents == 96000
    assert scenario.totals.not_covered_cents == 36000
    flag = next(flag for flag in scenario.flags if flag.code == "visit_limit_reached")
    assert "from 2026-08-17: 2 unit(s)" in flag.message
    note = (
        f"verification #{record_id} (2026-03-02): the payer states 24 mh_office visit(s) remaining as of "
        "2026-03-02; only that many more are covered until the plan year resets, then the limit of 30 "
        "applies."
    )
    assert note in result.assumptions
    sources = {source.name: source.value for source in result.sources}
    assert sources["mh_office.visits_remaining"] == "24"


def test_visits_remaining_end_with_the_plan_year(tmp_path: Path) -> None:
    """24 remaining from 2026-11-02: 9 weekly sessions in 2026 (Nov 2 - Dec 28) all covered; the
    plan's 30 a year applies from 2027-01-01 - the plan is priced as renewing unchanged. 0 remaining:
    every 2026 session is self-pay: 9 x $180 = $1,620, then 2027 sessions at $25."""
    loaded = make_plan(LIMITED_PLAN)
    catalog = PlanCatalog({"test-plan": loaded}, [])
    store, record_id = stored(
        tmp_path, {"benefitsInformation": [ACTIVE, _visit_entry("0", "29")]}, "test-plan"
    )
    request = EstimateRequest(
        plan_id="test-plan", start_date=dt.date(2026, 11, 2), pathway="op:12", verification_id=record_id
    )
    # verified 2026-03-02, same plan year as 2026-11-02: 0 remaining applies to 2026.
    scenario = estimate(catalog, request, store.get(record_id)).scenarios[0]
    # 2026: Nov 2, 9, 16, 23, 30, Dec 7, 14, 21, 28 = 9 sessions x $180; 2027: Jan 4, 11, 18 = 3 x $25
    assert scenario.totals.member_cost_cents == 9 * 18000 + 3 * 2500


# --- 6. inactive coverage ----------------------------------------------------------------------

INACTIVE_271 = {
    "payer": {"name": "ACME HEALTH (SAMPLE)"},
    "benefitsInformation": [
        {"code": "6", "serviceTypeCodes": ["30"], "planCoverage": "Acme PPO Gold"},
        {
            "code": "C",
            "serviceTypeCodes": ["30"],
            "coverageLevelCode": "IND",
            "timeQualifierCode": "23",
            "benefitAmount": "1500",
            "inPlanNetworkIndicatorCode": "Y",
        },
    ],
}
INACTIVE_MESSAGE = (
    "coverage is NOT active: the payer reports Inactive (EB 6) and no active coverage. Do not quote "
    "benefits: confirm the client's current insurance, or estimate at the self-pay rate"
)


def test_a_271_with_only_inactive_coverage_is_its_own_outcome() -> None:
    result = interpret(httpx.Response(200, json=INACTIVE_271), 1, "000000042", 15)
    assert (result.outcome, result.message) == ("inactive", INACTIVE_MESSAGE)
    assert result.benefits is not None and result.benefits.active is False
    # an active entry anywhere wins: code 1 on STC 30 next to the 6 is not inactive
    active = INACTIVE_271 | {
        "benefitsInformation": [
            {"code": "1", "serviceTypeCodes": ["MH"]},
            *INACTIVE_271["benefitsInformation"],
        ]
    }
    assert interpret(httpx.Response(200, json=active), 1, "000000042", 15).outcome == "verified"


def test_coverage_verify_exits_1_and_stores_inactive(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import respx

    url = "https://clearinghouse.test/eligibility/v3"
    db = tmp_path / "vob.sqlite"
    for name, value in {
        "COVERAGE_ELIGIBILITY_URL": url,
        "COVERAGE_ELIGIBILITY_API_KEY": "test-key",
        "COVERAGE_PROVIDER_NPI": "1234567893",
        "COVERAGE_PROVIDER_NAME": "Sample Behavioral Health",
        "COVERAGE_DB": str(db),
    }.items():
        monkeypatch.setenv(name, value)
    argv = ["verify", "--payer", "ACMEH", "--member-id", "ZZA123456789", "--first-name", "Jane"]
    argv += [
        "--last-name",
        "Doe",
        "--dob",
        "1990-02-15",
        "--date-of-service",
        "2026-03-02",
        "--by",
        "intake-1",
    ]
    with respx.mock(assert_all_called=False) as mock:
        mock.post(url).mock(return_value=httpx.Response(200, json=INACTIVE_271))
        assert main([*argv, "--plan", "acme-ppo-gold-2026"]) == 1
    assert capsys.readouterr().out.startswith(f"Verification #1: inactive - {INACTIVE_MESSAGE}\n")
    record = SqliteVerificationStore(db).get(1)
    assert record is not None and record.outcome == "inactive"


def test_a_version_1_store_migrates_and_keeps_its_rows(tmp_path: Path) -> None:
    import sqlite3

    from coverage.stores.sqlite import MIGRATIONS

    path = tmp_path / "vob.sqlite"
    with sqlite3.connect(path) as connection:  # a database as version 1 of the program left it
        connection.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        connection.execute("INSERT INTO schema_version VALUES (1)")
        for statement in MIGRATIONS[0]:
            connection.execute(statement)
        connection.execute(
            "INSERT INTO verifications (created_at, performed_by, payer_id, outcome, message, attempts, "
            "request_json, rejections_json) VALUES ('2026-03-02T15:00:00+00:00', 'intake-1', 'ACMEH', "
            "'rejected', 'payer rejected the inquiry', 1, '{}', '[]')"
        )
        with pytest.raises(sqlite3.IntegrityError):  # version 1 refuses the new outcome
            connection.execute(
                "INSERT INTO verifications (created_at, performed_by, payer_id, outcome, message, attempts, "
                "request_json, rejections_json) VALUES ('x', 'y', 'z', 'inactive', 'm', 1, '{}', '[]')"
            )
    store = SqliteVerificationStore(path)
    assert store.schema_version() == len(MIGRATIONS)
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT id, outcome FROM verifications").fetchall() == [(1, "rejected")]
    result = interpret(httpx.Response(200, json=INACTIVE_271), 1, "000000042", 15)
    request = build_request(INQUIRY_FIELDS, today=VERIFIED_ON)
    assert store.save(request, result, "intake-1") == 2
    stored = store.get(2)
    assert stored is not None and stored.outcome == "inactive"


def test_an_estimate_on_inactive_coverage_prices_every_unit_self_pay(
    tmp_path: Path, catalog: PlanCatalog
) -> None:
    store, record_id = stored(tmp_path, INACTIVE_271, "acme-ppo-gold-2026", outcome="inactive")
    request = EstimateRequest(
        plan_id="acme-ppo-gold-2026", start_date=dt.date(2026, 3, 2), verification_id=record_id
    )
    estimate_result = estimate(catalog, request, store.get(record_id))
    totals = {
        s.name: (s.totals.member_cost_cents, s.totals.plan_paid_cents) for s in estimate_result.scenarios
    }
    # acme in network has no `billed`: the self-pay rate is the allowed amount.
    # weekly: 26 x $120 = $3,120; iop: 24 x $450 + 18 x $120 = $10,800 + $2,160 = $12,960;
    # php: 15 x $900 + 18 x $450 + 17 x $120 = $13,500 + $8,100 + $2,040 = $23,640. The plan pays nothing.
    assert totals == {"weekly": (312000, 0), "iop": (1296000, 0), "php": (2364000, 0)}
    flag = next(flag for flag in estimate_result.flags if flag.code == "coverage_inactive")
    assert flag.severity == "warning" and INACTIVE_MESSAGE in flag.message
    sources = {source.name: source for source in estimate_result.sources}
    assert sources["mh_office.self_pay"].value == "$120.00"
    assert "coverage inactive" in sources["mh_office.self_pay"].source


# --- 7. smaller rules ---------------------------------------------------------------------------


def test_out_of_network_oop_max_flag_says_the_balance_bill_continues(catalog: PlanCatalog) -> None:
    request = EstimateRequest(
        plan_id="acme-ppo-gold-2026",
        start_date=dt.date(2026, 3, 2),
        network="out",
        pathway="php:1",
        deductible_met_cents=300000,
        oop_met_cents=1190000,
    )
    scenario = estimate(catalog, request).scenarios[0]
    # out of network: OOP max $12,000, $11,900 met. PHP day $600 allowed, $1,200 billed, 40%:
    # day 1 40% x $600 = $240, capped at the $100 left; days 2-5 $0 cost sharing. Every day still
    # carries the $1,200 - $600 = $600 balance bill: $100 + 5 x $600 = $3,100.00
    assert scenario.totals.member_cost_cents == 310000
    assert scenario.totals.balance_bill_cents == 300000
    flag = next(flag for flag in scenario.flags if flag.code == "oop_max_reached")
    assert flag.message.endswith(
        "covered units after that carry no deductible, copay or coinsurance until the plan year resets, "
        "but the out-of-network balance bill (the provider's charge above the allowed amount) continues."
    )


def test_month_end_positions_show_the_family_tier() -> None:
    loaded = make_plan(FAMILY_PLAN)
    result = run(
        loaded,
        pathway="iop:1x2",
        deductible_met_cents=0,
        family_deductible_met_cents=160000,
        family_oop_met_cents=160000,
    )
    position = result.scenarios[0].months[0].accumulators
    # family deductible left $2,000 - $1,600 = $400 < own $1,000: day 1 $400 deductible + 20% x $50 = $10;
    # day 2 20% x $450 = $90. Own: deductible met $400, OOP met $500. Family: deductible met $2,000
    # ($0 left), OOP met $1,600 + $500 = $2,100 ($6,000 - $2,100 = $3,900 left).
    assert (position.deductible_met_cents, position.deductible_remaining_cents) == (40000, 60000)
    assert (position.oop_met_cents, position.oop_remaining_cents) == (50000, 250000)
    assert (position.family_deductible_met_cents, position.family_deductible_remaining_cents) == (200000, 0)
    assert (position.family_oop_met_cents, position.family_oop_remaining_cents) == (210000, 390000)
    no_family = run(make_plan(IOP_ONLY), pathway="iop:1x2").scenarios[0].months[0].accumulators
    assert no_family.family_deductible_met_cents is None and no_family.family_oop_remaining_cents is None


IOP_ONLY = """
[accumulators.in_network]
deductible_individual = "1000.00"

[benefits.mh_iop.in_network]
allowed = "450.00"
coinsurance = "20%"
deductible_applies = true
"""


def test_the_270_asks_for_partial_hospitalization() -> None:
    assert "BB" in build_request(INQUIRY_FIELDS, today=VERIFIED_ON).service_type_codes


def _verified(entries: list[dict]):
    result = interpret(httpx.Response(200, json={"benefitsInformation": entries}), 1, "000000042", 15)
    assert result.benefits is not None
    return result.benefits


def test_the_authorization_indicator_comes_from_the_most_specific_tier() -> None:
    benefits = _verified(
        [
            {"code": "1", "serviceTypeCodes": ["30"]},
            {
                "code": "B",
                "serviceTypeCodes": ["CF"],
                "benefitAmount": "30",
                "inPlanNetworkIndicatorCode": "Y",
                "timeQualifierCode": "27",
            },
            {
                "code": "A",
                "serviceTypeCodes": ["A8"],
                "benefitPercent": "0.2",
                "inPlanNetworkIndicatorCode": "Y",
                "authOrCertIndicator": "Y",
            },
        ]
    )
    # office therapy reads CF (a copay, no indicator): not stated; IOP has no CH entry: A8 says Y.
    assert benefits.level("mh", "op", "in").prior_auth is None
    assert benefits.level("mh", "iop", "in").prior_auth is True


def test_verified_coinsurance_next_to_an_unstated_plan_copay_is_noted(tmp_path: Path) -> None:
    from coverage.estimate import build_terms
    from coverage.pricing.verification import verification_assumptions

    loaded = make_plan(LIMITED_PLAN)  # mh_office: $25 copay, 0% coinsurance
    benefits = _verified(
        [
            {"code": "1", "serviceTypeCodes": ["30"]},
            {
                "code": "A",
                "serviceTypeCodes": ["CF"],
                "benefitPercent": "0.1",
                "inPlanNetworkIndicatorCode": "Y",
            },
        ]
    )
    notes = verification_assumptions(build_terms(loaded, "in", "mh"), benefits, 7, VERIFIED_ON)
    assert (
        "verification #7 (2026-03-02): mh_office: the payer states 10% coinsurance but no copay; the plan "
        "file's $25.00 copay is kept, so both apply. Confirm with the payer."
    ) in notes


def test_family_accumulators_from_a_verification_drop_the_not_given_assumption(
    tmp_path: Path, catalog: PlanCatalog
) -> None:
    amounts = (("IND", "23", "1500"), ("IND", "29", "1000"), ("FAM", "23", "3000"), ("FAM", "29", "1200"))
    body = {"benefitsInformation": [ACTIVE, *(accumulator(*amount) for amount in amounts)]}
    store, record_id = stored(tmp_path, body, "acme-ppo-gold-2026")
    request = EstimateRequest(
        plan_id="acme-ppo-gold-2026",
        start_date=dt.date(2026, 3, 2),
        verification_id=record_id,
        pathway="iop:1x1",
    )
    estimate_result = estimate(catalog, request, store.get(record_id))
    assert not any(line.startswith("Family accumulators not given") for line in estimate_result.assumptions)
    # own met $500 ($1,000 left), family met $1,800 ($1,200 left): one IOP day $450 all to the deductible.
    sources = {source.name: source.value for source in estimate_result.sources}
    assert (sources["deductible_met"], sources["family_deductible_met"]) == ("$500.00", "$1,800.00")
    # family OOP met not stated: the larger of family deductible met $1,800 and own OOP met $500
    assert sources["family_oop_met"] == "$1,800.00"
    assert estimate_result.scenarios[0].totals.member_cost_cents == 45000


# --- 5. parity: the deductible is a financial requirement --------------------------------------


def _deductible_parity_plan(office_deductible_applies: bool, medsurg_deductible: str | None):
    from coverage.plans import parse_plan

    table = "" if medsurg_deductible is None else f"deductible = {medsurg_deductible}\n"
    text = f"""
id = "parity-deductible"
name = "Parity deductible"
payer = "Test"
kind = "commercial"
plan_year_start = "01-01"
effective = {{ start = "2026-01-01", end = "2026-12-31" }}

[accumulators.in_network]
deductible_individual = "1500.00"
oop_max_individual = "6000.00"

[benefits.mh_office.in_network]
allowed = "120.00"
copay = "30.00"
coinsurance = "0%"
deductible_applies = {str(office_deductible_applies).lower()}

[parity.medsurg.outpatient_in_network_office]
total = "1000000.00"
copay = {{ "30.00" = "900000.00" }}
{table}
[parity.medsurg.outpatient_in_network_all_other]
total = "500000.00"
"""
    return parse_plan(text, "parity-deductible.toml").plan


def _deductible_finding(plan):
    from coverage.parity.report import build_parity_report

    report = build_parity_report(plan)
    (found,) = [
        f
        for f in report.findings
        if (f.classification, f.type, f.mhsud_category)
        == ("outpatient_in_network_office", "deductible", "mh_office")
    ]
    return report, found


def test_a_deductible_on_mh_office_visits_fails_when_med_surg_office_visits_carry_none() -> None:
    # med/surg office payments subject to a deductible: $100,000 of $1,000,000 = 10% < 2/3, so 90%
    # carry none and the deductible is not "substantially all": MH office visits may not carry it.
    report, found = _deductible_finding(_deductible_parity_plan(True, '{ "1500.00" = "100000.00" }'))
    assert (found.verdict, found.substantially_all_share, found.mhsud_level) == ("fail", "0.1", "1500.00")
    assert found.rule == "29 CFR 2590.712(c)(3)(i)(A)"
    assert "carries a $1,500.00 deductible: fail" in found.explanation
    assert report.verdict == "fail"
    # An empty table says the same: no med/surg office payment carries a deductible.
    assert _deductible_finding(_deductible_parity_plan(True, "{}"))[1].verdict == "fail"


def test_a_deductible_applied_like_med_surg_passes_and_a_higher_one_fails() -> None:
    # $900,000 of $1,000,000 = 9/10 >= 2/3 carries a deductible; $1,500 on all of it: predominant
    # $1,500. The MH office benefit's $1,500 is the same: pass.
    _, same = _deductible_finding(_deductible_parity_plan(True, '{ "1500.00" = "900000.00" }'))
    assert (same.verdict, same.predominant_level) == ("pass", "1500.00")
    # $1,000 on $600,000 (2/3 of the $900,000 subject, > 1/2) is predominant; $1,500 is higher: fail.
    _, higher = _deductible_finding(
        _deductible_parity_plan(True, '{ "1000.00" = "600000.00", "1500.00" = "300000.00" }')
    )
    assert (higher.verdict, higher.predominant_level) == ("fail", "1000.00")
    # No deductible on the MH benefit cannot be more restrictive.
    _, waived = _deductible_finding(_deductible_parity_plan(False, '{ "1500.00" = "100000.00" }'))
    assert waived.verdict == "pass"


def test_an_unprojected_deductible_needs_review() -> None:
    _, found = _deductible_finding(_deductible_parity_plan(True, None))
    assert found.verdict == "needs_review"
    assert "does not project which med/surg payments" in found.explanation


# --- 4. the next plan year: a plan file names its successor -----------------------------------


def test_the_next_plan_year_is_priced_with_the_successor_file(catalog: PlanCatalog) -> None:
    request = EstimateRequest(
        plan_id="medicare-part-b-2025", start_date=dt.date(2025, 12, 15), pathway="iop:3x3"
    )
    result = estimate(catalog, request)
    scenario = result.scenarios[0]
    # IOP $290/day, 20%, Mon-Wed-Fri from 2025-12-15: 8 days in 2025, one (2026-01-02) in 2026.
    # 2025 ($257 deductible): day 1 $257 + 20% x $33 = $6.60 -> $263.60; 7 days x 20% x $290 = $406.00
    # 2026 (medicare-part-b-2026, $283 deductible): $283 + 20% x $7 = $1.40 -> $284.40
    # (with 2025's terms it would be $263.60). Total $263.60 + $406.00 + $284.40 = $954.00
    december, january = scenario.months
    assert (december.member_cost_cents, january.member_cost_cents) == (66960, 28440)
    assert scenario.totals.member_cost_cents == 95400
    assert january.accumulators.deductible_met_cents == 28300
    assert january.accumulators.deductible_remaining_cents == 0
    assert "beyond_plan_effective_end" not in {flag.code for flag in scenario.flags}
    assert "plan_year_reset" in {flag.code for flag in scenario.flags}
    sources = {source.name: source.value for source in result.sources}
    assert sources["medicare-part-b-2026: deductible_individual"] == "$283.00"
    assert (
        "Units from 2026-01-01 are priced with the terms of medicare-part-b-2026, the plan file that renews "
        "medicare-part-b-2025 (its deductible, out-of-pocket and visit counts start from zero on that "
        "plan-year start)."
    ) in result.assumptions


def test_renews_unchanged_only_past_the_last_successor(catalog: PlanCatalog) -> None:
    request = EstimateRequest(
        plan_id="medicare-part-b-2026", start_date=dt.date(2026, 12, 21), pathway="op:3"
    )
    flags = {flag.code: flag.message for flag in estimate(catalog, request).scenarios[0].flags}
    # sessions 2026-12-21, 12-28, 2027-01-04: one past the end, no successor named
    assert flags["beyond_plan_effective_end"] == (
        "1 unit(s) from 2027-01-04 fall after the plan's effective end 2026-12-31; they are priced as if "
        "the plan renews unchanged."
    )


def test_batch_prices_the_next_plan_year_with_the_successor(catalog: PlanCatalog) -> None:
    from tests.test_batch import TOTALS_HEADER, assert_same, batch_outputs, to_csv

    from coverage.batch import INPUT_COLUMNS

    row = dict.fromkeys(INPUT_COLUMNS, "") | {
        "client_id": "renewal",
        "plan_id": "medicare-part-b-2025",
        "network": "in",
        "category": "mh",
        "start_date": "2025-12-15",
        "deductible_met": "0",
        "pathway": "iop:3x3",
    }
    assert_same([row, row | {"client_id": "long", "pathway": "", "horizon_weeks": "60"}], catalog)
    totals, months, _ = batch_outputs(to_csv([row]), catalog)
    assert totals[0][TOTALS_HEADER.index("member_cost")] == "954.00"  # as worked out above
    assert months[-1][3:4] == ["2026-01"]


def _plan_file(plan_id: str, start: str, end: str, renewed_by: str | None) -> str:
    renewal = f'renewed_by = "{renewed_by}"\n' if renewed_by else ""
    return f"""
id = "{plan_id}"
name = "{plan_id}"
payer = "Test"
kind = "commercial"
plan_year_start = "01-01"
effective = {{ start = "{start}", end = "{end}" }}
{renewal}
[accumulators.in_network]
deductible_individual = "100.00"

[benefits.mh_office.in_network]
allowed = "100.00"
coinsurance = "20%"
deductible_applies = true
"""


@pytest.mark.parametrize(
    ("successor", "message"),
    [
        ("nope-2026", "names no plan loaded from the catalog"),
        (
            "gap-2026",
            "names 'gap-2026', which starts 2026-02-01, not the day after this plan's effective end "
            "2025-12-31",
        ),
        ("old-2025", "names the plan itself"),
    ],
)
def test_renewed_by_is_validated_strictly(tmp_path: Path, successor: str, message: str) -> None:
    from coverage.plans import load_catalog

    (tmp_path / "old-2025.toml").write_text(_plan_file("old-2025", "2025-01-01", "2025-12-31", successor))
    (tmp_path / "gap-2026.toml").write_text(_plan_file("gap-2026", "2026-02-01", "2026-12-31", None))
    loaded = load_catalog(tmp_path)
    assert sorted(loaded.plans) == ["gap-2026"]
    assert [(e.key_path, e.message) for e in loaded.errors] == [("renewed_by", message)]
