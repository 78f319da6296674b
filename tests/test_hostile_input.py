"""Hostile input never reaches a 500 (issue 11, item 2): each gets a 4xx naming the field.

Numbers too big for their field, JSON msgspec cannot even decode untyped, ids SQLite cannot
hold, non-ASCII digits: every one is a rule broken, answered as such.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from tests.conftest import PLANS_DIR

from coverage.cli import main
from coverage.errors import InputError
from coverage.schedule import parse_pathway
from coverage.web import create_app

KEY = {"X-API-Key": "test-staff-key"}
ACME = {"plan_id": "acme-ppo-gold-2026", "start_date": "2026-03-02"}
HUGE = "9" * 5000
BEYOND_INT64 = str(2**63)  # 9223372036854775808: one past SQLite's largest INTEGER


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    db = tmp_path_factory.mktemp("db") / "vob.sqlite"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COVERAGE_DB", str(db))
        with TestClient(create_app(PLANS_DIR, api_keys=["test-staff-key"])) as test_client:
            yield test_client


def fields_of(response: Any) -> dict[str | None, str]:
    return {error["field"]: error["message"] for error in response.json()["errors"]}


def post_raw(client: TestClient, body: bytes) -> Any:
    return client.post("/estimates", content=body, headers={**KEY, "content-type": "application/json"})


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (b'{"plan_id": "x", "start_date": "2026-03-02", "horizon_weeks": 1e999}', "horizon_weeks", "range"),
        (
            b'{"plan_id": "x", "start_date": "2026-03-02", "oop_met_cents": ' + HUGE.encode() + b"}",
            "oop_met_cents",
            "range",
        ),
        (b'{"plan_id": ' + b"[" * 5000 + b"]" * 5000 + b', "start_date": "2026-03-02"}', "plan_id", "string"),
        (b"[" * 100_000 + b"]" * 100_000, None, "JSON object"),
        (b'{"plan_id": "\xff\xfe", "start_date": "2026-03-02"}', None, "UTF-8"),
        (b'{"plan_id": "\xff", "start_date": "2026-03-02", "horizon_weeks": "x"}', None, "UTF-8"),
    ],
    ids=[
        "1e999",
        "5000-digit-int",
        "nested-5000",
        "nested-100000",
        "invalid-utf8",
        "invalid-utf8-and-bad-field",
    ],
)
def test_undecodable_json_is_a_400_naming_the_field(
    client: TestClient, body: bytes, field: str | None, words: str
) -> None:
    response = post_raw(client, body)
    assert response.status_code == 400
    errors = fields_of(response)
    assert list(errors) == [field]
    assert words in errors[field]


def test_verification_ids_beyond_sqlite_are_400_on_every_route(client: TestClient) -> None:
    for path in (f"/verifications/{BEYOND_INT64}", f"/verifications/{BEYOND_INT64}/report"):
        response = client.get(path, headers=KEY)
        assert response.status_code == 400, path
        assert "verification_id" in fields_of(response), path
    # The largest id SQLite holds is a fine question with no record: 404.
    assert client.get(f"/verifications/{2**63 - 1}", headers=KEY).status_code == 404
    response = client.get("/verifications", params={"offset": BEYOND_INT64}, headers=KEY)
    assert response.status_code == 400
    assert "offset" in fields_of(response)
    response = client.get("/vob", params={"page": BEYOND_INT64}, headers=KEY)
    assert response.status_code == 400
    assert "page" in fields_of(response)
    response = client.post("/estimates", json={**ACME, "verification_id": 2**63}, headers=KEY)
    assert response.status_code == 400
    assert fields_of(response) == {"verification_id": "must be at most 9223372036854775807"}


def test_form_verification_id_beyond_int64_is_a_field_error(client: TestClient) -> None:
    for value in (HUGE, BEYOND_INT64):
        form = {**ACME, "network": "in", "verification_id": value}
        response = client.post("/admissions", data=form, headers=KEY)
        assert response.status_code == 400
        assert 'id="verification_id-error"' in response.text
        assert "at most 18 digits" in response.text


@pytest.mark.parametrize(
    "pathway", [HUGE, f"op:{HUGE}", f"iop:4x{HUGE}", f"op:4@{HUGE}m", f"op:4@{HUGE}h", "op:٣"]
)
def test_public_compare_pathway_numbers_are_a_400(client: TestClient, pathway: str) -> None:
    form = {**ACME, "plan_source": "list", "network": "in", "pathway": pathway}
    response = client.post("/compare", data=form)
    assert response.status_code == 400
    assert '<a href="#pathway">' in response.text


def test_api_pathway_numbers_are_a_422_naming_pathway(client: TestClient) -> None:
    response = client.post("/estimates", json={**ACME, "pathway": f"php:{HUGE}"}, headers=KEY)
    assert response.status_code == 422
    assert list(fields_of(response)) == ["pathway"]


def test_pathway_accepts_ascii_digits_only() -> None:
    # Arabic-Indic three (U+0663) was read as 3 weeks before: re's \\d is any Unicode digit.
    with pytest.raises(InputError, match="phase 1"):
        parse_pathway("op:٣")
    with pytest.raises(InputError, match="at most 2,000"):
        parse_pathway("op:1," * 1000)
    # 3 + 6 + 17 = 26 weeks, all ASCII: still fine.
    assert sum(phase.weeks for phase in parse_pathway("php:3,iop:6,op:17")) == 26


def test_cli_huge_numbers_exit_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    for extra in (["--pathway", f"op:{HUGE}"], ["--horizon-weeks", HUGE], ["--verification-id", HUGE]):
        with pytest.raises(SystemExit) as stop:
            exit_code = main(["estimate", "--plan", "acme-ppo-gold-2026", "--start", "2026-03-02", *extra])
            raise SystemExit(exit_code)
        assert stop.value.code == 2, extra
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert len(err) < 400


def test_batch_cell_with_huge_numbers_is_an_error_row(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(
        "client_id,plan_id,network,category,start_date,deductible_met,oop_met,horizon_weeks,pathway\n"
        f"c1,acme-ppo-gold-2026,in,mh,2026-03-02,0,0,,op:{HUGE}\n"
        f"c2,acme-ppo-gold-2026,in,mh,2026-03-02,0,0,{HUGE},\n"
        "c3,acme-ppo-gold-2026,in,mh,2026-03-02,0,0,,op:٣\n"
        "c4,acme-ppo-gold-2026,in,mh,2026-03-02,0,0,,op:26\n"
    )
    out, errors = tmp_path / "out.csv", tmp_path / "err.csv"
    assert (
        main(["batch", str(source), "-o", str(out), "--errors", str(errors), "--plans-dir", str(PLANS_DIR)])
        == 0
    )
    rejected = errors.read_text().splitlines()[1:]
    assert [line.split(",")[2] for line in rejected] == ["pathway", "horizon_weeks", "pathway"]
    # c4: 26 weekly sessions at the $30 copay (deductible waived) = $780.00.
    (priced,) = out.read_text().splitlines()[1:]
    assert priced.startswith("4,c4,custom,op:26,26,")
