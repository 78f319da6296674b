"""Parity over the web: staff-only JSON and printable page, the service's error shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient
from tests.conftest import PLANS_DIR

from coverage.cli import main
from coverage.web import create_app

KEY = {"X-API-Key": "test-staff-key"}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(PLANS_DIR, api_keys=["test-staff-key"])) as test_client:
        yield test_client


def test_json_report(client: TestClient) -> None:
    response = client.get("/plans/lakeside-employer-limit-2026/parity", headers=KEY)
    assert response.status_code == 200
    report = response.json()
    assert (report["plan_id"], report["verdict"]) == ("lakeside-employer-limit-2026", "fail")
    limit = next(
        f
        for f in report["findings"]
        if (f["classification"], f["type"], f["mhsud_category"])
        == ("outpatient_in_network_office", "visit_limit", "mh_office")
    )
    # 150,000 of 1,500,000 office payments carry a visit limit: 1/10 < 2/3
    assert (limit["substantially_all_share"], limit["mhsud_level"], limit["verdict"]) == ("0.1", "20", "fail")


def test_json_matches_the_cli(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    main(["parity", "--plan", "harbor-hmo-2026", "--plans-dir", str(PLANS_DIR), "--json"])
    assert client.get("/plans/harbor-hmo-2026/parity", headers=KEY).json() == json.loads(
        capsys.readouterr().out
    )


def test_staff_only(client: TestClient) -> None:
    response = client.get("/plans/acme-ppo-gold-2026/parity")
    assert response.status_code == 401
    assert response.json()["errors"][0]["field"] == "X-API-Key"


def test_unknown_plan_is_404_naming_plan_id(client: TestClient) -> None:
    for path in ("/plans/nope/parity", "/plans/nope/parity/report"):
        response = client.get(path, headers=KEY)
        assert response.status_code == 404
        assert response.json() == {
            "errors": [{"field": "plan_id", "message": "no plan with id 'nope' is loaded"}]
        }


def test_plan_without_parity_data_is_404(tmp_path: Path) -> None:
    text = (PLANS_DIR / "summit-hdhp-hsa-2026.toml").read_text(encoding="utf-8")
    (tmp_path / "summit.toml").write_text(text.split("# ---- Parity report inputs")[0], encoding="utf-8")
    with TestClient(create_app(tmp_path, api_keys=["test-staff-key"])) as test_client:
        response = test_client.get("/plans/summit-hdhp-hsa-2026/parity", headers=KEY)
    assert response.status_code == 404
    (error,) = response.json()["errors"]
    assert error["field"] == "plan_id"
    assert "has no [parity] section" in error["message"]


def test_printable_page(client: TestClient) -> None:
    response = client.get("/plans/lakeside-employer-limit-2026/parity/report", headers=KEY)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<link rel="stylesheet" href="/static/parity.css">' in page  # its print layout
    assert 'aria-label="Staff"' in page  # the staff navigation, like every staff page
    assert "@media print" in client.get("/static/parity.css").text
    assert "MHPAEA parity report: Lakeside Employer Plan (July plan year)" in page
    assert 'id="outpatient_in_network_office"' in page
    assert "limit of 20 visits/days a year" in page
    # 500,000 / 600,000 out of network has no exact decimal: the page shows both
    assert "share 0.833333, exactly 5/6" in page
    assert page.count('class="verdict v-fail"') >= 3  # overall, two classifications, their findings


def test_page_redirects_a_browser_without_credentials(client: TestClient) -> None:
    response = client.get(
        "/plans/acme-ppo-gold-2026/parity/report", headers={"Accept": "text/html"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
