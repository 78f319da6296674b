"""`coverage verify`: arguments, printed benefits, stored record, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx

from coverage.cli import main
from coverage.stores.sqlite import SqliteVerificationStore

DATA = Path(__file__).parent / "data" / "eligibility"
URL = "https://clearinghouse.test/eligibility/v3"
ARGS = ["verify", "--payer", "ACMEH", "--member-id", "ZZA123456789", "--first-name", "Jane"]
ARGS += ["--last-name", "Doe", "--dob", "1990-02-15", "--date-of-service", "2026-03-02", "--by", "intake-1"]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    db = tmp_path / "vob.sqlite"
    monkeypatch.setenv("COVERAGE_ELIGIBILITY_URL", URL)
    monkeypatch.setenv("COVERAGE_ELIGIBILITY_API_KEY", "test-key")
    monkeypatch.setenv("COVERAGE_PROVIDER_NPI", "1234567893")
    monkeypatch.setenv("COVERAGE_PROVIDER_NAME", "Sample Behavioral Health")
    monkeypatch.setenv("COVERAGE_DB", str(db))
    return db


def run(argv: list[str], answer: httpx.Response) -> int:
    with respx.mock(assert_all_called=False) as mock:
        mock.post(URL).mock(return_value=answer)
        return main(argv)


def canned(name: str) -> httpx.Response:
    return httpx.Response(200, content=(DATA / name).read_bytes())


def test_verified_benefits_are_printed_with_the_record_id(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run([*ARGS, "--plan", "acme-ppo-gold-2026"], canned("ppo_mh_copay_iop_coinsurance.json")) == 0
    out = capsys.readouterr().out
    assert out.startswith("Verification #1: verified - benefits verified\nPayer trace number: TRN-PPO-0001\n")
    assert "Payer: ACME HEALTH (SAMPLE); plan: Acme PPO Gold; 2026-01-01 to 2026-12-31 (active)" in out
    assert (
        "  IOP, in network        covered; copay $0.00; coinsurance 20%; deductible $1,500.00 per calendar "
        "year; family deductible $3,000.00 per calendar year; out-of-pocket max $6,000.00 per calendar year; "
        "family out-of-pocket max $12,000.00 per calendar year\n"
    ) in out
    assert "  office, out of network covered; coinsurance 40%; deductible $3,000.00 per calendar year" in out
    record = SqliteVerificationStore(env).get(1)
    assert record is not None
    assert (record.performed_by, record.plan_id, record.outcome) == (
        "intake-1",
        "acme-ppo-gold-2026",
        "verified",
    )


def test_json_output_carries_the_mapping_but_not_the_raw_response(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run([*ARGS, "--json"], canned("deductible_remaining.json")) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["id"], document["outcome"], document["trace_number"]) == (1, "verified", "TRN-DED-0002")
    assert "raw_response" not in document
    office = next(
        level
        for level in document["benefits"]["levels"]
        if (level["category"], level["level"], level["network"]) == ("mh", "op", "in")
    )
    assert office["coinsurance"] == "0.2"
    assert office["deductible_individual"] == {
        "total_cents": 330000,
        "remaining_cents": 218745,
        "year_to_date_cents": None,
        "met_cents": 111255,
        "period": "calendar year",
    }


def test_a_rejection_is_printed_stored_and_exits_1(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(ARGS, canned("reject_72_invalid_member_id.json")) == 1
    assert capsys.readouterr().out == (
        "Verification #1: rejected - payer rejected the inquiry: the member ID is invalid or missing; "
        "check the insurance card (AAA 72)\nPayer trace number: TRN-R72\n"
    )
    record = SqliteVerificationStore(env).get(1)
    assert record is not None and record.outcome == "rejected"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (["--dob", "15/02/1990"], "--dob: must be a date YYYY-MM-DD"),
        (["--member-id", "ZZ A1"], "--member-id: must be 2-80 letters, digits or hyphens"),
        (["--npi", "1234567890"], "--npi: fails the NPI check digit (typo?)"),
        (["--plan", "no-such-plan"], "--plan: no plan file has id 'no-such-plan'"),
        (["--by", " "], "--by: must name who runs the check"),
    ],
)
def test_bad_arguments_exit_2_naming_the_argument(
    env: Path, capsys: pytest.CaptureFixture[str], change: list[str], error: str
) -> None:
    assert run([*ARGS, *change], canned("out_of_network.json")) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"coverage: error: {error}") and err.count("\n") == 1
    assert not env.exists() or SqliteVerificationStore(env).list_recent().total == 0


def test_missing_provider_npi_is_named(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("COVERAGE_PROVIDER_NPI")
    assert run(ARGS, canned("out_of_network.json")) == 2
    assert capsys.readouterr().err == "coverage: error: --npi: required (or set COVERAGE_PROVIDER_NPI)\n"


def test_unconfigured_clearinghouse_is_a_clear_failure(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("COVERAGE_ELIGIBILITY_URL")
    assert run(ARGS, canned("out_of_network.json")) == 1
    assert "benefit verification is not configured: set COVERAGE_ELIGIBILITY_URL" in capsys.readouterr().err
    assert not env.exists()
