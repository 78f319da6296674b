"""The pages in a real browser: headless Debian Chromium, driven by Playwright, against a real
uvicorn on loopback (`scripts/install-browser.sh` installs Chromium)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.conftest import PLANS_DIR
from tests.local_server import CHROMIUM, launch_chromium, local_server

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent (install it with scripts/install-browser.sh)"
)
KEY = "browser-test-key"


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with local_server(env={"COVERAGE_API_KEYS": KEY, "COVERAGE_PLANS_DIR": str(PLANS_DIR)}) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(java_script_enabled=False)  # the pages must work without it
    yield context.new_page()
    context.close()


def totals_on(page: Any) -> dict[str, str]:
    cards = page.locator(".scenario-total")
    return {
        cards.nth(i).get_attribute("data-scenario"): cards.nth(i).locator(".amount").inner_text()
        for i in range(cards.count())
    }


def test_compare_a_listed_plan(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/compare")
    page.select_option("#plan_id", "acme-ppo-gold-2026")
    page.fill("#start_date", "2026-03-02")
    page.click("button:has-text('Compare costs')")
    # 26 x $30; $1,500 + 20% x $9,300 + 18 x $30; $6,030 capped at the $6,000 OOP max
    assert totals_on(page) == {"weekly": "$780.00", "iop": "$3,900.00", "php": "$6,000.00"}
    assert page.locator("svg.chart rect").count() > 18  # 6 months x 3 scenarios, plus the legend


def test_compare_a_typed_plan_and_fix_an_error(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/compare")
    page.check("input[name=plan_source][value=typed]")
    page.fill("#copay", "30")
    page.fill("#coinsurance", "20")
    page.fill("#deductible", "1500")
    page.fill("#oop_max", "600O")  # a typo: letter O
    page.fill("#start_date", "2026-03-02")
    page.click("button:has-text('Compare costs')")
    assert "must look like" in page.locator("#oop_max-error").inner_text()
    page.fill("#oop_max", "6000")
    page.click("button:has-text('Compare costs')")
    # standard rates: iop 24 x $500 -> $1,500 + 20% x $10,500 + 18 x $30 = $4,140
    assert totals_on(page) == {"weekly": "$780.00", "iop": "$4,140.00", "php": "$6,000.00"}


def test_admissions_after_login(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/admissions")
    assert page.url.startswith(f"{base_url}/login")
    page.fill("#api_key", KEY)
    page.click("button:has-text('Log in')")
    page.select_option("#plan_id", "acme-ppo-gold-2026")
    page.fill("#start_date", "2026-03-02")
    page.click("button:has-text('Estimate')")
    totals = page.locator("table.totals tr.total-row td")
    assert totals.all_inner_texts() == ["$780.00", "$3,900.00", "$6,000.00"]
