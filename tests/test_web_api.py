"""JSON API through Litestar's test client: exact numbers, 4xx bodies, the staff key."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient
from tests.conftest import PLANS_DIR

from coverage.cli import main
from coverage.web import create_app

KEY = {"X-API-Key": "test-staff-key"}
ACME = {"plan_id": "acme-ppo-gold-2026", "start_date": "2026-03-02"}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(PLANS_DIR, api_keys=["test-staff-key"])) as test_client:
        yield test_client


def post_estimate(client: TestClient, body: Any) -> Any:
    return client.post("/estimates", json=body, headers=KEY)


def errors_of(response: Any) -> dict[str | None, str]:
    return {error["field"]: error["message"] for error in response.json()["errors"]}


# --- public endpoints and the staff key ----------------------------------------------------


def test_health_and_schema_are_public(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok", "plans_loaded": 8, "plan_file_errors": 0}
    schema = client.get("/schema/openapi.json").json()
    assert {"/health", "/plans", "/plans/{plan_id}", "/estimates"} <= set(schema["paths"])
    body = schema["paths"]["/estimates"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/EstimateRequest"}
    assert schema["components"]["securitySchemes"]["staffApiKey"] == {
        "type": "apiKey",
        "name": "X-API-Key",
        "in": "header",
    }
    assert client.get("/schema").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("GET", "/plans", None), ("GET", "/plans/acme-ppo-gold-2026", None), ("POST", "/estimates", ACME)],
)
def test_staff_routes_need_a_valid_key(client: TestClient, method: str, path: str, body: Any) -> None:
    missing = client.request(method, path, json=body)
    assert missing.status_code == 401
    assert list(errors_of(missing)) == ["X-API-Key"]
    wrong = client.request(method, path, json=body, headers={"X-API-Key": "guess"})
    assert wrong.status_code == 403
    assert errors_of(wrong) == {"X-API-Key": "X-API-Key is not a valid staff key"}
    assert client.request(method, path, json=body, headers=KEY).status_code == 200


def test_keys_from_environment_and_the_loud_dev_default(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("COVERAGE_API_KEYS", raising=False)
    with caplog.at_level(logging.WARNING, logger="coverage.web"), TestClient(create_app(PLANS_DIR)) as dev:
        assert dev.get("/plans", headers={"X-API-Key": "dev-staff-key"}).status_code == 200
    assert "COVERAGE_API_KEYS is not set" in caplog.text
    monkeypatch.setenv("COVERAGE_API_KEYS", " alpha-0123456789ab , beta-0123456789abc ,")
    caplog.clear()
    with (
        caplog.at_level(logging.WARNING, logger="coverage.web"),
        TestClient(create_app(PLANS_DIR)) as configured,
    ):
        for key, status in (
            ("alpha-0123456789ab", 200),
            ("beta-0123456789abc", 200),
            ("dev-staff-key", 403),
            ("", 403),
        ):
            assert configured.get("/plans", headers={"X-API-Key": key}).status_code == status
    assert "COVERAGE_API_KEYS is not set" not in caplog.text


# --- plans ---------------------------------------------------------------------------------


def test_plans_list_and_the_errors_of_broken_files(tmp_path: Path) -> None:
    shutil.copy(PLANS_DIR / "acme-ppo-gold-2026.toml", tmp_path)
    (tmp_path / "broken.toml").write_text(
        (PLANS_DIR / "acme-ppo-gold-2026.toml")
        .read_text()
        .replace('coinsurance = "20%"', 'coinsurance = "120%"', 1)
    )
    with TestClient(create_app(tmp_path, api_keys=["test-staff-key"])) as client:
        listing = client.get("/plans", headers=KEY).json()
    assert listing["plans"] == [
        {
            "id": "acme-ppo-gold-2026",
            "name": "Acme PPO Gold",
            "payer": "Acme Health (sample)",
            "kind": "commercial",
            "effective": {"start": "2026-01-01", "end": "2026-12-31"},
            "sample_data": True,
            "file": f"{tmp_path.name}/acme-ppo-gold-2026.toml",
        }
    ]
    [error] = listing["errors"]
    assert error["file"] == f"{tmp_path.name}/broken.toml"
    assert error["key_path"] == "benefits.mh_iop.in_network.coinsurance"
    assert "between 0% and 100%" in error["message"]


def test_plan_detail_is_the_validated_definition(client: TestClient) -> None:
    plan = client.get("/plans/acme-ppo-gold-2026", headers=KEY).json()
    assert plan["accumulators"]["in_network"] == {
        "deductible_individual": "1500.00",
        "deductible_family": "3000.00",
        "oop_max_individual": "6000.00",
        "oop_max_family": "12000.00",
    }
    iop = plan["benefits"]["mh_iop"]["in_network"]
    assert (iop["allowed"], iop["coinsurance"], iop["no_auth"]) == ("450.00", "20%", "penalty:50%")
    missing = client.get("/plans/no-such-plan", headers=KEY)
    assert missing.status_code == 404
    assert errors_of(missing) == {"plan_id": "no plan with id 'no-such-plan' is loaded"}


# --- estimates: exact numbers --------------------------------------------------------------


def test_standard_comparison_exact_numbers(client: TestClient) -> None:
    response = post_estimate(client, ACME)
    assert response.status_code == 200
    result = response.json()
    weekly, iop, php = result["scenarios"]
    totals = {s["name"]: s["totals"] for s in result["scenarios"]}
    # weekly: 26 sessions x $30 copay (deductible waived) = $780.00
    assert (totals["weekly"]["units"], totals["weekly"]["member_cost_cents"]) == (26, 780_00)
    # iop: 24 IOP days x $450 = $10,800 -> deductible $1,500 + 20% x $9,300 = $1,860;
    # then 18 weekly sessions x $30 = $540 -> $3,900.00
    assert totals["iop"]["deductible_cents"] == 1_500_00
    assert totals["iop"]["coinsurance_cents"] == 1_860_00
    assert totals["iop"]["copay_cents"] == 540_00
    assert totals["iop"]["member_cost_cents"] == 3_900_00
    # php: 15 PHP days x $900 = $13,500 -> $1,500 + 20% x $12,000 = $2,400; 18 IOP days x $450 x 20%
    # = $1,620; 17 sessions x $30 = $510 -> $6,030, capped at the $6,000 OOP max: the 17th session
    # (2026-08-24) is free, so copays are 16 x $30 = $480 -> $6,000.00
    assert (totals["php"]["coinsurance_cents"], totals["php"]["copay_cents"]) == (4_020_00, 480_00)
    assert totals["php"]["member_cost_cents"] == 6_000_00
    # allowed: 26 x $120 = $3,120; 24 x $450 + 18 x $120 = $12,960;
    # 15 x $900 + 18 x $450 + 17 x $120 = $23,640
    assert [t["allowed_cents"] for t in totals.values()] == [3_120_00, 12_960_00, 23_640_00]
    # iop by month: March has 13 IOP days (Mon/Wed/Fri from 03-02): $1,500 + 20% x (13 x $450 - $1,500)
    # = $2,370; April 11 IOP days x $90 + one session on 04-27 ($30) = $1,020
    assert [(m["month"], m["member_cost_cents"]) for m in iop["months"][:2]] == [
        ("2026-03", 2_370_00),
        ("2026-04", 1_020_00),
    ]
    assert [(part["level"], part["weeks"], part["member_cost_cents"]) for part in iop["levels"]] == [
        ("iop", 8, 3_360_00),
        ("op", 18, 540_00),
    ]
    # prior auth: 12 IOP days authorized, reviews every 6 at day 13 (03-30) and day 19 (04-13)
    [auth] = iop["authorizations"]
    assert (auth["initial_units"], auth["review_dates"], auth["units_at_risk"]) == (
        12,
        ["2026-03-30", "2026-04-13"],
        12,
    )
    # if no review is approved the 12 later days fall under penalty:50%: the plan's $360 a day
    # is cut by $180, which the client owes: $3,900 + 12 x $180 = $6,060
    assert iop["if_reviews_denied"]["member_cost_cents"] == 6_060_00
    assert weekly["if_reviews_denied"] is None
    assert php["flags"][-1]["code"] == "oop_max_reached"
    assert {"name": "mh_iop.coinsurance", "value": "20%"}.items() <= next(
        s for s in result["sources"] if s["name"] == "mh_iop.coinsurance"
    ).items()


def test_response_is_the_cli_json(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    body = ACME | {"deductible_met_cents": 500_00, "oop_met_cents": 700_00, "recommended_level": "iop"}
    api = post_estimate(client, body).json()
    assert (
        main(
            [
                "estimate",
                "--plan=acme-ppo-gold-2026",
                "--start=2026-03-02",
                "--deductible-met=500.00",
                "--oop-met=700.00",
                "--recommended-level=iop",
                f"--plans-dir={PLANS_DIR}",
                "--json",
            ]
        )
        == 0
    )
    assert api == json.loads(capsys.readouterr().out)
    # the recommended scenario comes first and is marked
    assert [(s["name"], s["recommended"]) for s in api["scenarios"]] == [
        ("iop", True),
        ("weekly", False),
        ("php", False),
    ]


def test_estimate_reads_a_named_verification_from_the_store(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COVERAGE_DB", str(tmp_path / "vob.sqlite"))
    response = post_estimate(client, ACME | {"verification_id": 7})
    assert response.status_code == 422
    assert errors_of(response) == {"verification_id": "no verification #7 is stored"}


# --- estimates: bad input ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "status", "field", "message"),
    [
        ({"plan_id": "no-such-plan"}, 404, "plan_id", "no plan with id 'no-such-plan' is loaded"),
        ({"deductible_met_cents": -100}, 400, "deductible_met_cents", "must not be negative"),
        (
            {"start_date": "2026-02-30"},
            400,
            "start_date",
            "must be a date written YYYY-MM-DD, such as 2026-03-02",
        ),
        (
            {"start_date": "03/02/2026"},
            400,
            "start_date",
            "must be a date written YYYY-MM-DD, such as 2026-03-02",
        ),
        ({"horizon_weeks": 0}, 400, "horizon_weeks", "must be at least 1"),
        ({"horizon_weeks": 157}, 400, "horizon_weeks", "must be at most 156"),
        (
            {"recommended_level": "residential"},
            400,
            "recommended_level",
            "must be one of op, iop, php, refer_higher; got 'residential'",
        ),
        ({"network": "both"}, 400, "network", "must be one of in, out; got 'both'"),
        (
            {"pathway": "rtc:4"},
            422,
            "pathway",
            "phase 1 'rtc:4': unknown level 'rtc' (use one of op, iop, php)",
        ),
        (
            {"oop_met_cents": 15.5},
            400,
            "oop_met_cents",
            "must be a whole number of cents or null (such as 150000 for $1,500.00), "
            "not a number with decimals",
        ),
        (
            {"deductible_met_cents": "1500"},  # no silent string-to-number coercion (SPEC 9)
            400,
            "deductible_met_cents",
            "must be a whole number of cents or null (such as 150000 for $1,500.00), not a string",
        ),
        (
            {"deductible_met_cents": 2_000_00},
            422,
            "deductible_met_cents",
            "$2,000.00 is more than the plan's individual deductible $1,500.00",
        ),
        (
            {"start_date": "2027-01-04"},
            422,
            "start_date",
            "2027-01-04 is outside the plan's effective period 2026-01-01 to 2026-12-31",
        ),
        ({"member_id": "X123"}, 400, "member_id", "is not a known field; known fields: plan_id, start_date,"),
    ],
)
def test_bad_input_names_the_field_and_rule(
    client: TestClient, change: dict[str, Any], status: int, field: str, message: str
) -> None:
    response = post_estimate(client, ACME | change)
    assert response.status_code == status
    [error] = response.json()["errors"]
    assert error["field"] == field
    assert error["message"].startswith(message)


def test_every_bad_field_is_reported_at_once(client: TestClient) -> None:
    response = post_estimate(
        client, {"start_date": "tomorrow", "deductible_met_cents": -1, "horizon_weeks": 0, "colour": "red"}
    )
    assert response.status_code == 400
    assert set(errors_of(response)) == {  # plan_id is optional: without it, a verification_id prices
        "start_date",
        "deductible_met_cents",
        "horizon_weeks",
        "colour",
    }
    assert "plan_id" not in errors_of(response)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{", "the body is not valid JSON: Input data was truncated"),
        (b"[1, 2]", "the body must be a JSON object (the fields of EstimateRequest)"),
        (b"", "a JSON request body is required"),
    ],
)
def test_malformed_bodies(client: TestClient, content: bytes, message: str) -> None:
    response = client.post("/estimates", content=content, headers=KEY | {"content-type": "application/json"})
    assert response.status_code == 400
    assert errors_of(response) == {None: message}


_json_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "in", "out", "sud", "op", "iop", "php", "none", "2026-03-02", "2026-13-01", "op:4"]),
    st.text(max_size=12),
)
_fields = st.sampled_from(
    [
        "plan_id",
        "start_date",
        "network",
        "category",
        "deductible_met_cents",
        "oop_met_cents",
        "family_oop_met_cents",
        "horizon_weeks",
        "pathway",
        "auth_status",
        "recommended_level",
        "unexpected",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(_fields, _json_values, max_size=4))
def test_never_a_500_for_bad_input(client: TestClient, changes: dict[str, Any]) -> None:
    response = post_estimate(client, ACME | changes)
    assert response.status_code in (200, 400, 404, 422)
    if response.status_code != 200:
        assert response.json()["errors"]


def test_no_request_values_in_logs(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    """4xx answers quote the bad value back to the caller; the log never sees it."""
    litestar_log = logging.getLogger("litestar")  # does not propagate to the root's capture handler
    litestar_log.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.DEBUG):
            post_estimate(client, ACME | {"deductible_met_cents": 123_457, "oop_met_cents": 987_653})
            post_estimate(client, ACME | {"oop_met_cents": -987_653, "start_date": "1961-07-04"})
            post_estimate(client, ACME | {"plan_id": "member-4471"})
            post_estimate(client, ACME | {"deductible_met_cents": 200_001})
    finally:
        litestar_log.removeHandler(caplog.handler)
    for value in ("123457", "987653", "1961-07-04", "member-4471", "2,000.01"):
        assert value not in caplog.text
