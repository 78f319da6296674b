"""Verification over the web: staff-only JSON routes, printable VOB page, list page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx
from litestar.testing import TestClient
from tests.conftest import INQUIRY_FIELDS

from coverage.web import create_app

PLANS_DIR = Path(__file__).resolve().parents[1] / "plans"
DATA = Path(__file__).parent / "data" / "eligibility"
URL = "https://clearinghouse.test/eligibility/v3"
KEY = {"X-API-Key": "test-staff-key"}
# The provider comes from the service's settings; the body adds who ran it and for which plan.
BODY = {name: value for name, value in INQUIRY_FIELDS.items() if not name.startswith("provider_")} | {
    "performed_by": "intake-1",
    "plan_id": "acme-ppo-gold-2026",
}


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[TestClient]:
    monkeypatch.setenv("COVERAGE_ELIGIBILITY_URL", URL)
    monkeypatch.setenv("COVERAGE_PROVIDER_NPI", "1234567893")
    monkeypatch.setenv("COVERAGE_PROVIDER_NAME", "Sample Behavioral Health")
    monkeypatch.setenv("COVERAGE_DB", str(tmp_path / "vob.sqlite"))
    with TestClient(create_app(PLANS_DIR, api_keys=["test-staff-key"])) as test_client:
        yield test_client


def post(client: TestClient, answer: httpx.Response, body: dict[str, object] = BODY) -> httpx.Response:
    with respx.mock(assert_all_called=False) as mock:
        mock.post(URL).mock(return_value=answer)
        return client.post("/verifications", json=body, headers=KEY)


def canned(name: str) -> httpx.Response:
    return httpx.Response(200, content=(DATA / name).read_bytes())


def test_post_verifies_stores_and_returns_the_record(client: TestClient) -> None:
    response = post(client, canned("ppo_mh_copay_iop_coinsurance.json"))
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    record = response.json()
    assert (record["id"], record["outcome"], record["trace_number"]) == (1, "verified", "TRN-PPO-0001")
    assert (record["performed_by"], record["plan_id"], record["attempts"]) == (
        "intake-1",
        "acme-ppo-gold-2026",
        1,
    )
    assert record["request"]["provider_npi"] == "1234567893"  # from COVERAGE_PROVIDER_NPI
    iop = next(
        level
        for level in record["benefits"]["levels"]
        if (level["category"], level["level"], level["network"]) == ("mh", "iop", "in")
    )
    assert (iop["copay_cents"], iop["coinsurance"]) == (0, "0.2")
    assert client.get("/verifications/1", headers=KEY).json() == record
    listing = client.get("/verifications", headers=KEY).json()
    assert listing["total"] == 1
    assert listing["records"][0]["subscriber_name"] == "Doe, Jane"


def test_a_payer_rejection_is_a_stored_record_too(client: TestClient) -> None:
    response = post(client, canned("reject_75_subscriber_not_found.json"))
    assert response.status_code == 201
    assert response.json()["outcome"] == "rejected"
    assert response.json()["message"].endswith("check the name, date of birth and member ID (AAA 75)")
    assert response.json()["benefits"] is None


@pytest.mark.parametrize(
    ("change", "status", "field", "message"),
    [
        ({"performed_by": None}, 400, "performed_by", "must be a string, not null"),
        (
            {"member_id": "ZZ 12"},
            422,
            "member_id",
            "must be 2-80 letters, digits or hyphens, as printed on the insurance card",
        ),
        ({"plan_id": "nope"}, 422, "plan_id", "no plan with id 'nope' is loaded"),
        ({"date_of_birth": "2999-01-01"}, 422, "date_of_birth", "is in the future"),
    ],
)
def test_bad_bodies_name_the_field(
    client: TestClient, change: dict[str, object], status: int, field: str, message: str
) -> None:
    response = post(client, canned("out_of_network.json"), BODY | change)
    assert response.status_code == status
    assert response.json() == {"errors": [{"field": field, "message": message}]}
    assert client.get("/verifications", headers=KEY).json()["total"] == 0


def test_unconfigured_verification_is_503_and_nothing_is_stored(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COVERAGE_ELIGIBILITY_URL")
    monkeypatch.delenv("COVERAGE_PROVIDER_NPI")  # a fresh clone: nothing configured at all
    response = post(client, canned("out_of_network.json"))
    assert response.status_code == 503
    assert response.json()["errors"][0]["message"].startswith("benefit verification is not configured")
    assert client.get("/verifications", headers=KEY).json()["total"] == 0


def test_every_route_is_staff_only(client: TestClient) -> None:
    assert client.post("/verifications", json=BODY).status_code == 401
    for path in ("/verifications", "/verifications/1", "/verifications/1/report", "/vob"):
        response = client.get(path)
        assert response.status_code == 401
        assert response.json()["errors"][0]["field"] == "X-API-Key"


def test_unknown_record_is_404_naming_verification_id(client: TestClient) -> None:
    for path in ("/verifications/9", "/verifications/9/report"):
        response = client.get(path, headers=KEY)
        assert response.status_code == 404
        assert response.json() == {
            "errors": [{"field": "verification_id", "message": "no verification #9 is stored"}]
        }


def test_printable_vob_page(client: TestClient) -> None:
    post(client, canned("prior_auth_iop.json"))
    response = client.get("/verifications/1/report", headers=KEY)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    page = response.text
    assert "<h1>Verification of benefits #1</h1>" in page
    assert "Doe, Jane" in page and "ZZA123456789" in page and "TRN-AUTH-0004" in page
    assert '$25.00<span class="src">STC CF</span>' in page
    assert 'required<span class="src">STC CH</span>' in page
    assert '30 per plan year<span class="src">STC CF</span>' in page
    assert "individual deductible taken from STC 30" in page


def test_list_page_links_each_record(client: TestClient) -> None:
    post(client, canned("out_of_network.json"))
    post(client, canned("reject_72_invalid_member_id.json"))
    page = client.get("/vob", headers=KEY).text
    assert "2 stored, newest first" in page
    assert page.index('href="/verifications/2/report"') < page.index('href="/verifications/1/report"')
    assert "Page 1 of 1" in page


def test_list_limit_is_checked(client: TestClient) -> None:
    response = client.get("/verifications?limit=0", headers=KEY)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "limit"
