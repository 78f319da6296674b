"""The program file, estimates from a verification alone at the program's rates, self-pay
estimates, and the Good Faith Estimate (core, store, CLI, API). Totals worked out by hand."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
import msgspec
import pytest
from litestar.testing import TestClient
from tests.conftest import INQUIRY_FIELDS, PLANS_DIR, REPO

from coverage.cli import main
from coverage.eligibility.client import interpret
from coverage.eligibility.inquiry import build_request
from coverage.errors import InputError
from coverage.estimate import EstimateRequest, estimate
from coverage.gfe import Patient, good_faith_estimate
from coverage.plans import PlanCatalog
from coverage.program import LoadedProgram, load_program
from coverage.stores.database import over
from coverage.stores.gfes import SqlGfeStore
from coverage.stores.sqlite import SqliteDatabase, SqliteVerificationStore
from coverage.web.factory import create_app

DATA = REPO / "tests" / "data" / "eligibility"
PROGRAM = REPO / "programs" / "sample-program.toml"
PAYERS = REPO / "programs" / "payers.toml"
START = dt.date(2026, 3, 2)
KEY = {"X-API-Key": "program-test-key-0001"}


@pytest.fixture(scope="module")
def program() -> LoadedProgram:
    loaded = load_program(PROGRAM, PAYERS)
    assert loaded.errors == []
    assert loaded.program is not None
    return loaded.program


def stored(tmp_path: Path, fixture: str = "prior_auth_iop.json") -> tuple[SqliteVerificationStore, int]:
    """A verification of ACMEH (in network in the sample program), verified on 2026-03-01."""
    store = SqliteVerificationStore(tmp_path / "coverage.sqlite")
    answer = httpx.Response(200, content=(DATA / fixture).read_bytes())
    result = interpret(answer, attempts=1, control_number="000000042", timeout_s=15)
    request = build_request(INQUIRY_FIELDS, today=dt.date(2026, 3, 1))
    when = dt.datetime(2026, 3, 1, 15, tzinfo=dt.UTC)
    return store, store.save(request, result, "intake-1", now=when)


def test_the_sample_program_loads_and_bad_files_give_located_errors(tmp_path: Path) -> None:
    text = PROGRAM.read_text()
    broken = (
        text.replace('npi = "1234567893"', 'npi = "1234567890"')  # check digit
        .replace('mh_php = "800.00"\n', "")  # the default contract must price every level
        .replace('self_pay = "150.00"', 'self_pay = "250.00"', 1)  # more than the $200 charge
        .replace("[contracts.SUMMT]", "[contracts.NOSUCH]")  # not in the payer list
    )
    (tmp_path / "program.toml").write_text(broken)
    errors = [str(error) for error in load_program(tmp_path / "program.toml", PAYERS).errors]
    assert any("npi: fails the NPI check digit" in error for error in errors)
    assert any("contracts.default.allowed.mh_php: required" in error for error in errors)
    assert any("services.mh_office.self_pay: is more than the charge" in error for error in errors)
    assert any("contracts.NOSUCH: names a payer id not in the payer list" in error for error in errors)
    (tmp_path / "typo.toml").write_text(text.replace("phone =", "phone_number ="))
    [error] = load_program(tmp_path / "typo.toml", PAYERS).errors
    assert (error.key_path, error.value) == ("phone_number", "'(555) 010-0199'")
    assert error.message.startswith("unknown key")


def test_a_value_the_payer_did_not_state_is_named_never_zero(
    tmp_path: Path, catalog: PlanCatalog, program: LoadedProgram
) -> None:
    store, record_id = stored(tmp_path)
    request = EstimateRequest(start_date=START, verification_id=record_id)
    result = estimate(catalog, request, store.get(record_id), program)
    assert result.scenarios == []
    assert [value.message for value in result.missing] == [
        "the payer did not state the out-of-pocket maximum"
    ]
    assert [u.name for u in result.unpriced] == ["weekly", "iop", "php"]

    entered = msgspec.structs.replace(request, entered={"oop_max_individual": "3000.00"})
    result = estimate(catalog, entered, store.get(record_id), program)
    totals = {s.name: s.totals.member_cost_cents for s in result.scenarios}
    # ACMEH contract: office $120, IOP $450, PHP $900; $25 copay (deductible waived), 22 visits
    # remaining of 30 (verified 2026-03-01, same plan year), then the $200 charge per session.
    # weekly: 22 x $25 + 4 x $200 = $1,350
    # iop: $500 + 10% x (24 x $450 - $500) = $1,530; 18 x $25 = $450 -> $1,980
    # php: $500 + 10% x (15 x $900 - $500) = $1,800; 18 IOP days x $45 = $810; 17 sessions, all
    #      within the 22 visits remaining, x $25 = $425; $3,035 capped at $3,000
    assert totals == {"weekly": 135_000, "iop": 198_000, "php": 300_000}
    sources = {s.name: s.source for s in result.sources}
    assert sources["oop_max_individual"] == "entered by staff"
    assert sources["mh_iop.allowed"].startswith("program file programs/sample-program.toml [contracts.ACMEH")
    assert sources["mh_iop.coinsurance"].startswith(f"verification #{record_id} (2026-03-01): STC CH")
    [weekly] = [s for s in result.scenarios if s.name == "weekly"]
    assert [(line.level, line.units, line.rate_cents) for line in weekly.self_pay_units] == [
        ("op", 4, 200_00)
    ]


def test_self_pay_and_inactive_price_every_unit_at_the_programs_cash_price(
    tmp_path: Path, catalog: PlanCatalog, program: LoadedProgram
) -> None:
    result = estimate(catalog, EstimateRequest(start_date=START, self_pay=True), None, program)
    # weekly 26 x $150 = $3,900; iop 24 x $500 + 18 x $150 = $14,700;
    # php 15 x $900 + 18 x $500 + 17 x $150 = $13,500 + $9,000 + $2,550 = $25,050
    assert [s.totals.member_cost_cents for s in result.scenarios] == [390_000, 1_470_000, 2_505_000]
    with pytest.raises(InputError, match="give a plan_id, or a verification_id, or self_pay"):
        estimate(catalog, EstimateRequest(start_date=START), None, program)
    with pytest.raises(InputError) as error:
        estimate(catalog, EstimateRequest(plan_id="acme-ppo-gold-2026", start_date=START, self_pay=True))
    assert error.value.field == "self_pay"


def test_good_faith_estimate_is_kept_and_reprints_exactly(
    tmp_path: Path, catalog: PlanCatalog, program: LoadedProgram
) -> None:
    result = estimate(catalog, EstimateRequest(start_date=START, self_pay=True), None, program)
    gfe = good_faith_estimate(program, result, "iop", Patient("Sam Rivera", dt.date(1985, 7, 4)), ["f33.1"])
    assert gfe.diagnosis_codes == ["F33.1"]
    [provider] = gfe.providers
    assert [(i.service_code, i.units, i.charge_per_unit_cents) for i in provider.items] == [
        ("S9480 (revenue code 0905)", 24, 500_00),
        ("90837", 18, 150_00),
    ]
    assert gfe.total_cents == 24 * 500_00 + 18 * 150_00 == 1_470_000
    assert (provider.npi, provider.tin, provider.state) == ("1234567893", "12-3456789", "IL")
    assert any("$400.00 or more" in line for line in gfe.disclaimers)
    store = SqlGfeStore(SqliteDatabase(tmp_path / "coverage.sqlite"))
    gfe_id = store.save(gfe, "intake-1")
    assert store.get(gfe_id).content == gfe  # type: ignore[union-attr]
    with pytest.raises(InputError, match="is not an ICD-10-CM code"):
        good_faith_estimate(program, result, "iop", gfe.patient, ["33.1"])
    insured = estimate(catalog, EstimateRequest(plan_id="acme-ppo-gold-2026", start_date=START))
    with pytest.raises(InputError, match="no unit of this scenario is priced at the self-pay rate"):
        good_faith_estimate(program, insured, "iop", gfe.patient, [])


def test_cli_estimate_without_a_plan_exits_1_naming_the_missing_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COVERAGE_DB", str(tmp_path / "coverage.sqlite"))
    _, record_id = stored(tmp_path)
    args = ["estimate", "--verification-id", str(record_id), "--start", "2026-03-02", "--json"]
    assert main(args) == 1
    assert "cannot estimate yet: the payer did not state the out-of-pocket maximum" in capsys.readouterr().err
    assert main([*args, "--value", "oop_max_individual=3000.00"]) == 0
    totals = [s["totals"]["member_cost_cents"] for s in json.loads(capsys.readouterr().out)["scenarios"]]
    assert totals == [135_000, 198_000, 300_000]  # as worked out above
    assert main([*args, "--value", "mh_iop.coinsurance=abc"]) == 2
    assert "entered.mh_iop.coinsurance" in capsys.readouterr().err
    assert (
        main(
            [
                "gfe",
                "--verification-id",
                str(record_id),
                "--start",
                "2026-03-02",
                "--scenario",
                "weekly",
                "--value",
                "oop_max_individual=3000",
                "--by",
                "intake-1",
                "--json",
            ]
        )
        == 0
    )
    issued = json.loads(capsys.readouterr().out)
    # weekly: the 4 sessions past the 22 visits remaining, at the $200 charge
    assert issued["content"]["patient"] == {"name": "Jane Doe", "date_of_birth": "1990-02-15"}
    assert issued["content"]["total_cents"] == 4 * 200_00


def test_api_estimates_from_a_verification_alone(tmp_path: Path) -> None:
    store, record_id = stored(tmp_path)
    app = create_app(PLANS_DIR, [KEY["X-API-Key"]], database=over(store.database, "test"))
    with TestClient(app) as client:
        body = {
            "start_date": "2026-03-02",
            "verification_id": record_id,
            "entered": {"oop_max_individual": "x"},
        }
        response = client.post("/estimates", json=body, headers=KEY)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "entered.oop_max_individual"
        body["entered"] = {"oop_max_individual": "3000.00"}
        response = client.post("/estimates", json=body, headers=KEY)
        assert [s["totals"]["member_cost_cents"] for s in response.json()["scenarios"]] == [
            135_000,
            198_000,
            300_000,
        ]
        page = client.get(f"/admissions/verifications/{record_id}", headers=KEY)
        assert (
            "Verified: coverage is active" in page.text and 'name="entered.oop_max_individual"' in page.text
        )
        # The network is the program contract's: left blank (selected) with the contract named, so
        # staff are never offered the 422 of a network the program file contradicts.
        assert '<option value="" selected>— the program&#39;s contract with the payer —</option>' in page.text
        assert "Blank: in network, as the program&#39;s contract with this payer says" in page.text
        form = {
            "verification_id": str(record_id),
            "start_date": "2026-03-02",
            "network": "",
            "category": "mh",
            "entered.oop_max_individual": "3000.00",
        }
        estimated = client.post("/admissions", data=form, headers=KEY)
        assert estimated.status_code == 200, estimated.text
        for total in ("$1,350.00", "$1,980.00", "$3,000.00"):  # the three totals of the API answer above
            assert total in estimated.text, total
        report = client.get(f"/verifications/{record_id}/report", headers=KEY).text
        assert "Estimate with this verification" in report and "Verify again" in report
        for path in ("/vob", "/parity", "/batch", "/gfes", "/admissions"):  # every staff page: the nav bar
            assert 'aria-label="Staff"' in client.get(path, headers=KEY).text, path
