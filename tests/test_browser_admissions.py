"""The whole admissions flow in real Chromium against a fake clearinghouse on loopback: sign in,
verify, see the mapped benefits, fill the one value the payer did not state, get the three
scenarios at the program's rates, open the handout, issue a Good Faith Estimate and find every
element 45 CFR 149.610(c) requires on it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import PLANS_DIR
from tests.local_server import CHROMIUM, fake_clearinghouse, launch_chromium, local_server

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent (install it with scripts/install-browser.sh)"
)
KEY = "browser-admissions-key"
DATA = Path(__file__).parent / "data" / "eligibility"


def fake_271() -> bytes:
    """prior_auth_iop.json without its visit-limit entries (F), so the totals do not depend on
    today's plan year: office copay $25; IOP and PHP 10% coinsurance, prior authorization
    required; $500 deductible; NO out-of-pocket maximum stated."""
    answer = json.loads((DATA / "prior_auth_iop.json").read_text())
    answer["benefitsInformation"] = [e for e in answer["benefitsInformation"] if e["code"] != "F"]
    return json.dumps(answer).encode()


@pytest.fixture(scope="module")
def base_url(
    clearinghouse: tuple[str, list[bytes]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with local_server(env=env_for(clearinghouse[0], tmp_path_factory)) as url:
        yield url


@pytest.fixture(scope="module")
def clearinghouse() -> Iterator[tuple[str, list[bytes]]]:
    with fake_clearinghouse(fake_271()) as (url, received):
        yield url, received


def env_for(eligibility_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {
        "COVERAGE_API_KEYS": KEY,
        "COVERAGE_PLANS_DIR": str(PLANS_DIR),
        "COVERAGE_DB": str(tmp_path_factory.mktemp("db") / "coverage.sqlite"),
        "COVERAGE_ELIGIBILITY_URL": eligibility_url,
        "COVERAGE_PROVIDER_NPI": "1234567893",
        "COVERAGE_PROVIDER_NAME": "Sample Behavioral Health",
    }


@pytest.fixture
def page(base_url: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(java_script_enabled=False)  # the flow needs no script
        yield context.new_page()
        browser.close()


def log_in(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/admissions")
    assert page.url.startswith(f"{base_url}/login")
    page.fill("#api_key", KEY)
    page.click("button:has-text('Log in')")
    page.locator("#payer_id").wait_for()


def test_verify_estimate_handout_and_good_faith_estimate(
    page: Any, base_url: str, clearinghouse: tuple[str, list[bytes]]
) -> None:
    log_in(page, base_url)
    for link in ("Admissions", "Verifications", "Parity reports", "Batch"):  # the staff navigation
        assert page.locator(f"header nav a:has-text('{link}')").count() == 1
    page.select_option("#payer_id", "ACMEH")
    page.fill("#member_id", "ZZA123456789")
    page.fill("#first_name", "Jane")
    page.fill("#last_name", "Doe")
    page.fill("#date_of_birth", "1990-02-15")
    page.fill("#date_of_service", "2026-03-02")
    page.fill("#performed_by", "intake-1")
    page.click("button:has-text('Verify benefits')")
    page.locator("#outcome-title").wait_for()
    assert page.locator("#outcome-title").inner_text() == "Verified: coverage is active"
    assert json.loads(clearinghouse[1][-1])["subscriber"]["memberId"] == "ZZA123456789"
    benefits = page.locator("table.vob").first.inner_text()  # mental health, as the payer stated it
    assert "$25.00" in benefits and "10%" in benefits and "required" in benefits

    # The payer stated no out-of-pocket maximum: unknown, never zero; staff get it from the payer.
    missing = page.locator("[name='entered.oop_max_individual']")
    assert "did not state the out-of-pocket maximum" in page.locator("fieldset.missing").inner_text()
    page.click("button:has-text('Estimate')")
    page.locator(".cannot-estimate").wait_for()
    assert page.locator(".card.unpriced").count() == 3  # every scenario needs the OOP maximum
    missing = page.locator("[name='entered.oop_max_individual']")
    missing.fill("3000.00")
    page.click("button[value=screen]")
    totals = page.locator("table.totals tr.total-row td")
    totals.first.wait_for()
    # ACMEH contract: office $120, IOP $450, PHP $900 allowed; $25 copay (deductible waived);
    # IOP/PHP: $500 deductible then 10%; OOP max $3,000 (entered by staff).
    # weekly: 26 x $25 = $650.
    # iop: 24 IOP days x $450 = $10,800 -> $500 + 10% x $10,300 = $1,530; 18 x $25 = $450 -> $1,980.
    # php: 15 x $900 = $13,500 -> $500 + 10% x $13,000 = $1,800; 18 IOP days x $45 = $810;
    #      17 x $25 = $425; $3,035 capped at the $3,000 OOP max.
    assert totals.all_inner_texts() == ["$650.00", "$1,980.00", "$3,000.00"]
    sources = page.locator("table.sources").inner_text()
    assert "entered by staff" in sources and "verification #" in sources and "program file" in sources

    page.click("button:has-text('Printable handout')")
    page.locator("h1").wait_for()
    handout = page.locator("main").inner_text()
    assert "Sample Behavioral Health" in handout and "(555) 010-0199" in handout
    assert page.locator("button.print-button:has-text('Print')").count() == 1

    # A self-pay client's Good Faith Estimate.
    page.goto(f"{base_url}/admissions")
    page.select_option("#self_pay", "yes")
    page.fill("#start_date", "2026-03-02")
    page.select_option("#gfe_scenario", "iop")
    page.fill("#diagnosis_codes", "F33.1")
    page.fill("#issued_by", "intake-1")
    page.fill("#patient_first_name", "Sam")
    page.fill("#patient_last_name", "Rivera")
    page.fill("#patient_date_of_birth", "1985-07-04")
    page.click("button:has-text('Issue a Good Faith Estimate')")
    page.locator("article.gfe").wait_for()
    gfe = page.locator("article.gfe").inner_text()
    for element in (
        "Sam Rivera",  # patient name
        "1985-07-04",  # date of birth
        "IOP, then weekly therapy",  # the primary service in plain words
        "2026-03-02",  # its scheduled date
        "F33.1",  # diagnosis code
        "S9480",  # service codes
        "90837",
        "1234567893",  # NPI
        "12-3456789",  # TIN
        "Springfield outpatient center",  # location of care
        "IL",  # state
        "Intake evaluation",  # services scheduled separately
        "not a contract",
        "may be additional items or services",
        "$400.00 or more",  # patient-provider dispute resolution
        "www.cms.gov/nosurprises",  # where to learn how
        "up to 12 months",  # recurring services
    ):
        assert element in gfe, element
    # self-pay prices: 24 IOP days x $500 = $12,000; 18 sessions x $150 = $2,700; total $14,700
    assert page.locator(".gfe-total").inner_text() == "$14,700.00"
    items = page.locator("table.gfe-items").inner_text()
    assert "$12,000.00" in items and "$2,700.00" in items
    page.click("header nav a:has-text('Good Faith Estimates')")
    assert page.locator("td:has-text('Sam Rivera')").count() == 1  # kept, listed, reprintable
