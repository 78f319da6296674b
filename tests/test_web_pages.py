"""The Compare and Admissions pages through Litestar's test client: numbers, errors, login."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from tests.conftest import PLANS_DIR

from coverage.levels import LEVELS
from coverage.web import create_app

KEY = "test-staff-key"
HTML = {"accept": "text/html"}
ACME_FORM = {"plan_id": "acme-ppo-gold-2026", "network": "in", "category": "mh", "start_date": "2026-03-02"}
TYPED_FORM = {
    "plan_source": "typed",
    "copay": "30",
    "coinsurance": "20",
    "deductible": "1,500",
    "oop_max": "$6000.00",
    "category": "mh",
    "start_date": "2026-03-02",
}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(PLANS_DIR, api_keys=[KEY])) as test_client:
        yield test_client


@pytest.fixture
def staff(client: TestClient) -> Iterator[TestClient]:
    """The client logged in through the form (the session cookie), logged out afterwards."""
    assert client.post("/login", data={"api_key": KEY, "next": "/admissions"}).status_code == 200
    yield client
    client.post("/logout")


def card_totals(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-scenario="(\w+)".*?<span class="amount">([^<]+)</span>', html, re.S))


def field_error(html: str, name: str) -> str:
    match = re.search(rf'<p class="error" id="{name}-error">([^<]*)</p>', html)
    return match[1].replace("&#39;", "'").replace("&#34;", '"') if match else ""


# --- Compare my costs (public) -------------------------------------------------------------


def test_compare_page_is_public_and_asks_for_no_identity(client: TestClient) -> None:
    page = client.get("/compare")
    assert page.status_code == 200
    names = set(re.findall(r'name="(\w+)"', page.text))
    assert {"plan_source", "plan_id", "copay", "coinsurance", "deductible", "oop_max", "start_date"} <= names
    assert not any(word in name for name in names for word in ("name_", "member", "dob", "birth", "ssn"))
    assert "nothing you enter here is saved" in page.text
    assert client.get("/", follow_redirects=False).headers["location"] == "/compare"
    assert client.get("/static/coverage.css").status_code == 200


def test_compare_a_listed_plan(client: TestClient) -> None:
    response = client.post("/compare", data={"plan_source": "list", **ACME_FORM, "deductible_met": ""})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert "set-cookie" not in response.headers
    # 26 x $30; $1,500 + 20% x $9,300 + 18 x $30; $6,030 capped at the $6,000 OOP max (see test_web_api)
    assert card_totals(response.text) == {"weekly": "$780.00", "iop": "$3,900.00", "php": "$6,000.00"}
    # IOP weeks cost $1,500 + $1,860 = $3,360 over 8 weeks: $420 a week x 52/12 = $1,820 a month
    assert (
        "About $1,820 a month for 8 weeks of the intensive outpatient program (IOP), then about $130 a month "
        "for 18 weeks of weekly therapy; $3,900.00 in total over 26 weeks." in response.text
    )
    # PHP is shorter than a month, so its exact cost: 15 days, $1,500 + 20% x $12,000 = $3,900
    assert (
        "$3,900.00 for 3 weeks of the partial hospitalization program (PHP), then about $1,170"
        in response.text
    )
    assert response.text.count('<svg class="chart"') == 1
    # the chart's tallest bar is PHP in March: $3,900 + 4 IOP days x $90 = $4,260
    assert "PHP, then IOP, then weekly therapy, March 2026: $4,260.00" in response.text
    for level in LEVELS.values():
        assert level.plain_description in response.text


def test_compare_a_typed_in_plan(client: TestClient) -> None:
    response = client.post("/compare", data=TYPED_FORM)
    assert response.status_code == 200
    # standard rates as allowed amounts: session $150, IOP day $500, PHP day $900
    # weekly: 26 x $30 copay = $780.00
    # iop: 24 x $500 = $12,000 -> $1,500 + 20% x $10,500 = $3,600; + 18 x $30 = $540 -> $4,140.00
    # php: 15 x $900 -> $1,500 + 20% x $12,000 = $3,900; 18 x $500 x 20% = $1,800; 17 x $30 = $510
    #      -> $6,210 capped at the typed $6,000 maximum -> $6,000.00
    assert card_totals(response.text) == {"weekly": "$780.00", "iop": "$4,140.00", "php": "$6,000.00"}
    assert "Plan entered on the Compare page" in response.text
    assert '<td>mh_iop.coinsurance</td><td class="num">20%</td><td>entered on the Compare page</td>' in (
        response.text
    )
    assert "Weekly therapy: the copay per session with the deductible waived" in response.text


def test_compare_never_uses_a_stored_verification(client: TestClient) -> None:
    """Stored verifications hold PHI; the public page ignores a verification_id slipped into the form."""
    response = client.post("/compare", data={"plan_source": "list", **ACME_FORM, "verification_id": "1"})
    assert response.status_code == 200
    assert card_totals(response.text) == {"weekly": "$780.00", "iop": "$3,900.00", "php": "$6,000.00"}
    assert "verification" not in response.text.lower()


def test_compare_errors_sit_next_to_their_fields(client: TestClient) -> None:
    form = TYPED_FORM | {
        "copay": "-30",
        "coinsurance": "150",
        "start_date": "2026-02-31",
        "oop_met": "12.345",
    }
    response = client.post("/compare", data=form)
    assert response.status_code == 400
    html = response.text
    assert field_error(html, "copay") == "Therapy visit copay: the amount must not be negative, got '-30'"
    assert field_error(html, "coinsurance").startswith("Coinsurance (%): must be a percentage from 0 to 100")
    assert "must be a date written YYYY-MM-DD" in field_error(html, "start_date")
    assert "more than two decimal places" in field_error(html, "oop_met")
    assert 'value="-30"' in html  # the form keeps what was typed
    assert 'class="amount"' not in html


def test_compare_a_plan_outside_its_dates(client: TestClient) -> None:
    response = client.post("/compare", data={"plan_source": "list", **ACME_FORM, "start_date": "2027-03-01"})
    assert response.status_code == 400
    assert "outside the plan's effective period 2026-01-01 to 2026-12-31" in field_error(
        response.text, "start_date"
    )


# --- staff login ---------------------------------------------------------------------------


def test_admissions_sends_browsers_to_login(client: TestClient) -> None:
    response = client.get("/admissions", headers=HTML, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login?next=%2Fadmissions")
    assert client.get("/admissions").status_code == 401  # not a browser: the JSON error body
    assert client.get("/admissions", headers={"X-API-Key": KEY}).status_code == 200


def test_login_cookie_and_logout(client: TestClient) -> None:
    wrong = client.post("/login", data={"api_key": "guess", "next": "/admissions"})
    assert wrong.status_code == 403
    assert field_error(wrong.text, "api_key") == "Staff API key: is not a valid staff key"
    login = client.post("/login", data={"api_key": KEY, "next": "/admissions"}, follow_redirects=False)
    assert (login.status_code, login.headers["location"]) == (303, "/admissions")
    cookie = login.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and KEY not in cookie
    assert client.get("/admissions", headers=HTML).status_code == 200
    client.post("/logout")
    assert client.get("/admissions", headers=HTML, follow_redirects=False).status_code == 303


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
def test_login_never_redirects_off_site(client: TestClient, target: str) -> None:
    login = client.post("/login", data={"api_key": KEY, "next": target}, follow_redirects=False)
    assert login.headers["location"] == "/admissions"
    client.post("/logout")


# --- Admissions workspace (staff) ----------------------------------------------------------


def admissions(staff: TestClient, **fields: Any) -> Any:
    return staff.post("/admissions", data=ACME_FORM | {"horizon_weeks": "26"} | fields)


def test_admissions_three_scenarios_side_by_side(staff: TestClient) -> None:
    response = admissions(staff, deductible_met="", oop_met="")
    assert response.status_code == 200
    html = response.text
    totals = re.findall(r'<td class="num" data-scenario="(\w+)">([^<]+)</td>', html)
    assert totals == [("weekly", "$780.00"), ("iop", "$3,900.00"), ("php", "$6,000.00")]
    # per month, iop column: March 13 IOP days -> $2,370.00; April 11 days + 1 session -> $1,020.00
    assert re.search(
        r"<th>Mar 2026</th>\s*<td[^>]*>\$150.00</td><td[^>]*>\$2,370.00</td><td[^>]*>\$4,260.00", html
    )
    # authorization needs: IOP reviews on day 13 and day 19, 12 days at risk; if denied $6,060.00
    assert "2026-03-30, 2026-04-13" in html
    assert "If no concurrent review is approved: client cost $6,060.00 ($2,160.00 more)" in " ".join(
        html.split()
    )
    assert "Prior authorization: the initial authorization and every concurrent review are assumed" in html
    assert "plan file plans/acme-ppo-gold-2026.toml [benefits.mh_iop.in_network.coinsurance]" in html


def test_admissions_accumulators_met_in_dollars(staff: TestClient) -> None:
    # $1,000 of the $1,500 deductible met (and so $1,000 of OOP): weekly copays are unaffected
    # ($780.00); iop: $500 deductible + 20% x ($10,800 - $500) = $2,060 -> $2,560 + $540 = $3,100.00
    response = admissions(staff, deductible_met="1,000.00", oop_met="1000")
    totals = re.findall(r'<td class="num" data-scenario="(\w+)">([^<]+)</td>', response.text)
    assert totals[:2] == [("weekly", "$780.00"), ("iop", "$3,100.00")]


def test_admissions_medicare_certifications(staff: TestClient) -> None:
    response = admissions(staff, plan_id="medicare-part-b-2026")
    assert response.status_code == 200
    assert "Medicare certification reminders" in response.text
    assert "2026-03-20: physician recertification for PHP" in response.text


def test_admissions_errors_re_render_the_form(staff: TestClient) -> None:
    response = admissions(staff, deductible_met="2000", horizon_weeks="0", recommended_level="rtc")
    assert response.status_code == 400
    html = response.text
    assert field_error(html, "horizon_weeks") == "Weeks to compare: must be at least 1"
    assert field_error(html, "recommended_level").startswith(
        "Recommended level (optional): must be one of op,"
    )
    # the plan-level rule runs once the fields themselves are valid
    again = admissions(staff, deductible_met="2000")
    assert (
        field_error(again.text, "deductible_met")
        == "Deductible met: $2,000.00 is more than the plan's $1,500.00"
    )
    assert 'value="2000"' in again.text


def test_admissions_verification_number(
    staff: TestClient, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COVERAGE_DB", str(tmp_path / "vob.sqlite"))
    assert field_error(admissions(staff, verification_id="#3").text, "verification_id") == (
        "Verification # (optional): must be a whole number (the verification's #); got '#3'"
    )
    response = admissions(staff, verification_id="3")
    assert response.status_code == 400
    assert (
        field_error(response.text, "verification_id")
        == "Verification # (optional): no verification #3 is stored"
    )


def test_printable_handout(staff: TestClient) -> None:
    response = admissions(staff, view="print")
    assert response.status_code == 200
    html = response.text
    assert "Your estimated cost of care" in html
    assert '<header class="site">' not in html and "<form" not in html
    assert re.findall(r'<p class="total">([^<]+)<small>in total', html) == [
        "$780.00 ",
        "$3,900.00 ",
        "$6,000.00 ",
    ]
    assert "IOP needs your plan's approval in advance" in html
    assert "@media print" in staff.get("/static/coverage.css").text
