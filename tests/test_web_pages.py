"""The Compare and Admissions pages through Litestar's test client: numbers, errors, login."""

from __future__ import annotations

import html as html_text
import re
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from tests.conftest import PLANS_DIR

from coverage.screening.answers import CRISIS_RESOURCES, SCREENING_DISCLAIMER, SCREENING_QUESTIONS
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
        test_client.headers["Origin"] = str(test_client.base_url)  # as a browser on this site sends
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
    expected = {"plan_source", "plan_id", "network", "category", "start_date", "deductible_met", "oop_met"}
    assert expected <= names
    assert not any(word in name for name in names for word in ("name_", "member", "dob", "birth", "ssn"))
    assert "nothing you enter here is saved" in page.text
    assert page.text.count("What each level of care involves") == 1
    assert client.get("/", follow_redirects=False).headers["location"] == "/compare"
    assert client.get("/static/coverage.css").status_code == 200


def test_compare_a_listed_plan(client: TestClient) -> None:
    response = client.post("/compare", data={"plan_source": "list", **ACME_FORM, "deductible_met": ""})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert "set-cookie" not in response.headers
    # 26 x $30; $1,500 + 20% x $9,300 + 18 x $30; $6,030 capped at the $6,000 OOP max (see test_web_api)
    assert card_totals(response.text) == {"weekly": "$780.00", "iop": "$3,900.00", "php": "$6,000.00"}
    text = html_text.unescape(response.text)
    assert text.count("What each level of care involves") == 1
    # IOP Mon/Wed/Fri from 03-02: March 13 days x $450 = $5,850: $1,500 + 20% x $4,350 = $2,370;
    # April 11 days x $90 + the 04-27 session $30 = $1,020; then $30 a week x 52/12 = $130 a month
    assert "$2,370 in March, $1,020 in April, then about $130 a month; $3,900.00 in total" in text
    # PHP: March 15 PHP days $3,900 + 4 IOP days x $90 = $4,260; ... August 3 sessions x $30 = $90
    assert (
        "$4,260 in March, $1,170 in April, $210 in May, $150 in June, $120 in July and $90 in August" in text
    )
    assert "about $0" not in text
    # prior authorization is said before the numbers, in the visitor's words
    assert text.index("Your plan must approve IOP and PHP before it starts") < text.index('id="results"')
    assert response.text.count('<svg class="chart"') == 1
    assert "PHP, then IOP, then weekly therapy, Mar 2026: $4,260.00" in text
    for jargon in (
        "mh_iop",
        "plans/",
        "unit(s)",
        "Accumulators",
        "CPT",
        "half-up",
        "the client",
        "[benefits",
    ):
        assert jargon not in text, jargon


def test_compare_medicare_says_no_yearly_cap_up_front(client: TestClient) -> None:
    form = {"plan_source": "list", **ACME_FORM, "plan_id": "medicare-part-b-2026"}
    text = html_text.unescape(client.post("/compare", data=form).text)
    assert text.index("Original Medicare has no yearly limit on what you pay") < text.index('id="results"')


def test_compare_a_typed_in_plan(client: TestClient) -> None:
    response = client.post("/compare", data=TYPED_FORM)
    assert response.status_code == 200
    # standard rates as allowed amounts: session $150, IOP day $500, PHP day $900
    # weekly: 26 x $30 copay = $780.00
    # iop: 24 x $500 = $12,000 -> $1,500 + 20% x $10,500 = $3,600; + 18 x $30 = $540 -> $4,140.00
    # php: 15 x $900 -> $1,500 + 20% x $12,000 = $3,900; 18 x $500 x 20% = $1,800; 17 x $30 = $510
    #      -> $6,210 capped at the typed $6,000 maximum -> $6,000.00
    assert card_totals(response.text) == {"weekly": "$780.00", "iop": "$4,140.00", "php": "$6,000.00"}
    text = html_text.unescape(response.text)
    assert "The plan you typed in" in text
    assert "With the numbers you typed: weekly therapy costs your copay per session" in text


def test_compare_shows_only_the_chosen_plan_source(client: TestClient) -> None:
    """No script hides the other source's fields: they are simply not on the page."""
    listed = client.get("/compare").text
    assert 'name="plan_id"' in listed and 'name="deductible"' not in listed
    typed = client.get("/compare?source=typed").text
    assert 'name="deductible"' in typed and 'name="plan_id"' not in typed
    assert 'placeholder="20"' not in typed  # a placeholder must not look like a value


def test_compare_typed_plan_left_blank_is_refused_not_free(client: TestClient) -> None:
    form = {"plan_source": "typed", "start_date": "2026-03-02", "category": "mh"}
    response = client.post("/compare", data=form)
    assert response.status_code == 400
    assert (
        field_error(response.text, "deductible")
        == "Enter your yearly deductible, or 0 if your plan has none."
    )
    assert field_error(response.text, "coinsurance").startswith("Enter your coinsurance")
    assert 'class="amount"' not in response.text


def test_compare_errors_sit_next_to_their_fields(client: TestClient) -> None:
    form = TYPED_FORM | {
        "copay": "-30",
        "coinsurance": "150",
        "start_date": "2026-02-30",
        "oop_met": "12.345",
    }
    response = client.post("/compare", data=form)
    assert response.status_code == 400
    html = response.text
    assert field_error(html, "copay") == "Write an amount in dollars, such as 1500.00, or 0."
    assert field_error(html, "coinsurance") == "Enter your share as a percentage from 0 to 100, such as 20."
    assert field_error(html, "start_date") == "2026-02-30 is not a date: check the month and day."
    assert field_error(html, "oop_met") == "Write an amount in dollars, such as 1500.00, or 0."
    summary = html_text.unescape(re.search(r'<div class="form-errors".*?</div>', html, re.S)[0])
    assert "Please fix these 4 fields:" in summary
    assert "When would care start?" in summary and "start date" not in summary
    assert 'value="-30"' in html  # the form keeps what was typed
    assert 'class="amount"' not in html


def test_compare_a_plan_outside_its_dates(client: TestClient) -> None:
    response = client.post("/compare", data={"plan_source": "list", **ACME_FORM, "start_date": "2027-03-01"})
    assert response.status_code == 400
    assert field_error(response.text, "start_date") == "Choose a start date within your plan's current year."


def test_compare_in_spanish_by_switch_and_by_accept_language(client: TestClient) -> None:
    page = client.get("/compare", headers={"accept-language": "es-MX,es;q=0.9,en;q=0.5"}).text
    assert '<html lang="es">' in page and "Comparar mis costos" in page
    assert '<html lang="en">' in client.get("/compare?lang=en", headers={"accept-language": "es"}).text
    response = client.post("/compare", data={"plan_source": "list", **ACME_FORM, "lang": "es"})
    text = html_text.unescape(response.text)
    assert '<html lang="es">' in text
    assert (
        "$2,370 en marzo, $1,020 en abril, y después unos $130 al mes; $3,900.00 en total en 26 semanas."
        in text
    )
    assert "Su plan debe aprobar IOP y PHP antes de empezar (autorización previa)." in text
    # the switch re-posts the same form in the other language
    assert '<input type="hidden" name="lang" value="en">' in response.text


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


@pytest.mark.parametrize(
    "target",
    # browsers drop tabs and newlines from a URL, so "/\t/evil.example" is "//evil.example"
    ["//evil.example/", "https://evil.example/", "/\\evil.example", "/\t/evil.example", "/\n/evil.example"],
)
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
        r"<th[^>]*>Mar 2026</th>\s*<td[^>]*>\$150.00</td><td[^>]*>\$2,370.00</td><td[^>]*>\$4,260.00", html
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
        == "Deductible met: $2,000.00 is more than the plan's individual deductible $1,500.00"
    )
    assert 'value="2000"' in again.text


def test_admissions_verification_number(
    staff: TestClient, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COVERAGE_DB", str(tmp_path / "vob.sqlite"))
    assert field_error(admissions(staff, verification_id="#3").text, "verification_id") == (
        "Verification #: must be a whole number (the verification's #); got '#3'"
    )
    response = admissions(staff, verification_id="3")
    assert response.status_code == 400
    assert (
        field_error(response.text, "verification_id")
        == "Verification #: no verification #3 is stored"
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
    text = html_text.unescape(html)
    assert "Your plan must approve IOP and PHP before it starts (prior authorization)." in text
    for staff_word in ("concurrent review", "unit", "Allowed", "Plan pays"):
        assert staff_word not in text, staff_word
    assert "@media print" in staff.get("/static/coverage.css").text


def test_handout_in_spanish(staff: TestClient) -> None:
    text = html_text.unescape(admissions(staff, view="print-es").text)
    assert '<html lang="es">' in text and "Su costo estimado de atención" in text
    assert "Su plan debe aprobar IOP y PHP antes de empezar" in text


# --- Admissions screening (issue 7) --------------------------------------------------------

# Nothing fires: the rubric alone says weekly therapy. Form values are text.
CALM_SCREENING = {
    "symptom_severity": "mild",
    "crisis_frequency": "none",
    "safety_concerns": "none",
    "coping_skills": "solid",
    "support_system": "strong",
    "co_occurring": "none",
    "stepping_down_from": "none",
    "months_without_progress": "0",
    "medical_stability": "stable",
    "home_situation": "safe_stable",
    "attendance": "5_days",
}
IOP_SCREENING = CALM_SCREENING | {"crisis_frequency": "weekly", "months_without_progress": "3"}
TOTALS = r'<td class="num" data-scenario="(\w+)">([^<]+)</td>'


def screened(staff: TestClient, answers: dict[str, str], **fields: Any) -> Any:
    return admissions(staff, **answers, **fields)


def badge_heads(html: str) -> list[str]:
    """The scenario labels carrying the "recommended" badge (totals, month table, cards)."""
    return re.findall(r'</span>([^<]+) <span class="badge recommended">recommended</span>', html)


def list_items(html: str, css_class: str) -> list[str]:
    block = re.search(rf'<ul class="{css_class}">(.*?)</ul>', html, re.S)
    items = re.findall(r"<li>(.*?)</li>", block[1], re.S) if block else []
    return [html_text.unescape(item) for item in items]


def test_admissions_form_asks_the_screening_before_the_scenario_settings(staff: TestClient) -> None:
    html = staff.get("/admissions").text
    screening, settings = "<legend>Screening (optional)</legend>", "<legend>Scenario settings</legend>"
    assert html.index(screening) < html.index(settings)
    for name in SCREENING_QUESTIONS:
        assert re.search(rf'<(select|input[^>]*) id="{name}" name="{name}"', html), name
    assert '<option value="plan_or_intent">plan or intent</option>' in html
    assert '<option value="2.1">2.1: Intensive Outpatient (9 or more hours a week)</option>' in html
    assert "a whole number from 7 to 35, or omitted" in html  # the LOCUS text box's hint


def test_screening_recommends_iop_and_leads_the_comparison_with_it(staff: TestClient) -> None:
    response = screened(staff, IOP_SCREENING)
    assert response.status_code == 200
    html = response.text
    assert "Screening recommends: Intensive outpatient program (IOP)</h2>" in html
    assert "Decided by the screening rubric. The comparison lists this scenario first" in html
    assert list_items(html, "reasons") == [
        "At least one signal calls for IOP on its own, and nothing calls for PHP.",
        "Points to IOP: crises about weekly between sessions (crisis_frequency = weekly)",
        "Points to IOP: 3 or more months of weekly therapy without progress (months_without_progress = 3)",
    ]
    assert "<summary>Other levels considered</summary>" in html
    assert "<strong>Partial hospitalization program (PHP)</strong>: Not indicated; it would need one of:" in (
        html
    )
    assert f'<p class="disclaimer">{SCREENING_DISCLAIMER}</p>' in html
    assert 'role="alert"' not in html  # no safety concern: no crisis box
    # the same numbers as without a screening, IOP first and marked in the totals, month table and card
    assert re.findall(TOTALS, html) == [("iop", "$3,900.00"), ("weekly", "$780.00"), ("php", "$6,000.00")]
    assert badge_heads(html) == ["IOP, then weekly therapy"] * 3
    assert '<section class="card scenario-0 recommended">' in html  # IOP leads, so it is the first card
    assert '<option value="weekly" selected>weekly</option>' in html and 'value="3"' in html  # answers kept


def test_screening_imminent_risk_refers_higher_with_crisis_resources(staff: TestClient) -> None:
    answers = IOP_SCREENING | {"safety_concerns": "plan_or_intent", "locus_composite": "10"}
    html = screened(staff, answers).text
    crisis = re.search(r'<div class="crisis" role="alert">(.*?)</div>', html, re.S)
    assert crisis
    assert html_text.unescape(crisis[1]) == f"<strong>Crisis resources.</strong> {CRISIS_RESOURCES}"
    assert "988 Suicide &amp; Crisis Lifeline" in crisis[1]
    assert crisis.start() < html.index('<h2 id="screening-title">')  # the crisis box comes first
    assert "Screening recommends: Refer to a higher level of care (residential or inpatient)</h2>" in html
    reasons = list_items(html, "reasons")
    assert reasons[1] == (
        "Safety override: thoughts of suicide or harming others with a plan or intent (imminent risk) "
        "(safety_concerns = plan_or_intent)"
    )
    assert reasons[-1].startswith("The safety override wins over the clinician's LOCUS composite 10")
    assert (
        "Screening recommends a higher level of care (inpatient or residential) than these scenarios; "
        "the costs below are for comparison only." in html
    )
    assert "None of the scenarios below is this level of care" in " ".join(html.split())
    assert re.findall(TOTALS, html)[0] == ("weekly", "$780.00") and badge_heads(html) == []
    assert SCREENING_DISCLAIMER in html


@pytest.mark.parametrize(
    ("answers", "field", "message", "kept"),
    [
        (
            {"months_without_progress": "three"},
            "months_without_progress",
            "Months of therapy without progress: must be a whole number from 0 to 240 (got 'three')",
            'name="months_without_progress" value="three"',
        ),
        (
            {"crisis_frequency": "hourly"},
            "crisis_frequency",
            "Crises between sessions: must be one of none, monthly, weekly, daily (got 'hourly')",
            '<option value="safe_stable" selected>safe stable</option>',
        ),
        (
            {"locus_composite": "20", "asam_level": "2.1"},
            "asam_level",
            "ASAM level (optional): give one clinician score, locus_composite or asam_level, not both",
            '<option value="2.1" selected>',
        ),
    ],
)
def test_screening_bad_answer_sits_next_to_its_field(
    staff: TestClient, answers: dict[str, str], field: str, message: str, kept: str
) -> None:
    response = screened(staff, IOP_SCREENING | answers)
    assert response.status_code == 400
    assert field_error(response.text, field) == message
    assert kept in response.text  # the form keeps what was typed and chosen
    assert "screening-result" not in response.text and "data-scenario" not in response.text


def test_screening_partly_answered_names_every_blank_question(staff: TestClient) -> None:
    response = screened(staff, {"crisis_frequency": "weekly"}, horizon_weeks="0")
    assert response.status_code == 400
    errors = dict(re.findall(r'<p class="error" id="(\w+)-error">[^:]*: ([^<]*)</p>', response.text))
    blank = set(CALM_SCREENING) - {"crisis_frequency"}
    assert errors == dict.fromkeys(blank, "answer every screening question, or leave them all blank") | {
        "horizon_weeks": "must be at least 1"  # the estimate's own fields are checked in the same pass
    }


def test_staff_choice_wins_over_the_screening(staff: TestClient) -> None:
    html = screened(staff, IOP_SCREENING, recommended_level="php").text
    assert "Screening recommends: Intensive outpatient program (IOP)</h2>" in html
    assert (
        "Staff chose Partial hospitalization program (PHP) in Scenario settings; that choice wins over the "
        "screening's in the comparison below." in " ".join(html.split())
    )
    assert [name for name, _ in re.findall(TOTALS, html)] == ["php", "weekly", "iop"]
    assert badge_heads(html) == ["PHP, then IOP, then weekly therapy"] * 3
    # the same choice as the screening's: nothing to explain
    agreeing = screened(staff, IOP_SCREENING, recommended_level="iop").text
    assert "Staff chose" not in agreeing and badge_heads(agreeing)[0] == "IOP, then weekly therapy"
    # no screening at all: no screening result, the staff's level still marked
    plain = admissions(staff, recommended_level="php").text
    assert "screening-result" not in plain and badge_heads(plain)[0] == "PHP, then IOP, then weekly therapy"


def test_handout_shows_the_recommended_scenario_but_not_the_screening(staff: TestClient) -> None:
    answers = IOP_SCREENING | {"safety_concerns": "passive_ideation", "co_occurring": "active"}
    response = screened(staff, answers, view="print")
    assert response.status_code == 200
    html = response.text
    assert re.findall(r'<p class="total">([^<]+)<small>in total', html)[0] == "$3,900.00 "
    assert badge_heads(html)[0] == "IOP, then weekly therapy"
    assert "is the one our admissions team suggests" in " ".join(html_text.unescape(html).split())
    for private in [*answers, "passive", "ideation", "co-occurring", "crises", "Screening", "988", "suicide"]:
        assert private not in html, private
    for question in SCREENING_QUESTIONS.values():
        assert question not in html
