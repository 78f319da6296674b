"""The pages in a real browser: headless Debian Chromium, driven by Playwright, against a real
uvicorn on loopback (`scripts/install-browser.sh` installs Chromium)."""

from __future__ import annotations

import re
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
    cards.first.wait_for()  # the results page has loaded (click does not wait for the new page)
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
    page.click("text=Type in my plan's numbers instead")  # a link: the page works without JavaScript
    assert page.locator("#plan_id").count() == 0
    page.fill("#copay", "30")
    page.fill("#coinsurance", "20")
    page.fill("#deductible", "1500")
    page.fill("#oop_max", "600O")  # a typo: letter O
    page.fill("#start_date", "2026-03-02")
    page.click("button:has-text('Compare costs')")
    assert page.locator("#oop_max-error").inner_text() == "Write an amount in dollars, such as 1500.00, or 0."
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
    totals.first.wait_for()  # the results page has loaded (click does not wait for the new page)
    assert totals.all_inner_texts() == ["$780.00", "$3,900.00", "$6,000.00"]


# --- accessibility (axe-core, shipped by axe-playwright-python), phones, offline API docs ---------


@pytest.fixture
def js_page(browser: Any) -> Iterator[Any]:
    """axe runs as a script in the page, so these contexts allow JavaScript."""
    context = browser.new_context()
    yield context.new_page()
    context.close()


def serious_violations(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {[node['target'] for node in v['nodes']]}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


def compare_results(page: Any, base_url: str, lang: str = "en") -> None:
    page.goto(f"{base_url}/compare?lang={lang}")
    page.select_option("#plan_id", "acme-ppo-gold-2026")
    page.fill("#start_date", "2026-03-02")
    page.click("button[type=submit]:not(.link)")


def log_in(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/login?next=/admissions")
    page.fill("#api_key", KEY)
    page.click("button:has-text('Log in')")


def test_axe_compare_empty_with_errors_and_with_results(js_page: Any, base_url: str) -> None:
    js_page.goto(f"{base_url}/compare")
    assert serious_violations(js_page) == []
    js_page.goto(f"{base_url}/compare?source=typed")
    js_page.fill("#start_date", "2026-02-30")
    js_page.click("button:has-text('Compare costs')")
    assert js_page.locator(".form-errors").count() == 1
    assert serious_violations(js_page) == []
    compare_results(js_page, base_url)
    assert serious_violations(js_page) == []
    compare_results(js_page, base_url, "es")
    assert js_page.locator("html").get_attribute("lang") == "es"
    assert serious_violations(js_page) == []


def test_axe_admissions_and_handout(js_page: Any, base_url: str) -> None:
    log_in(js_page, base_url)
    assert serious_violations(js_page) == []
    js_page.select_option("#plan_id", "acme-ppo-gold-2026")
    js_page.fill("#start_date", "2026-03-02")
    js_page.click("button:has-text('Estimate')")
    assert serious_violations(js_page) == []
    js_page.click("button:has-text('Printable handout')")
    assert js_page.locator("h1").inner_text() == "Your estimated cost of care"
    assert serious_violations(js_page) == []


@pytest.mark.parametrize("button", ["Printable handout for the family", "Hoja para la familia en español"])
def test_handout_prints_on_two_pages(js_page: Any, base_url: str, button: str) -> None:
    log_in(js_page, base_url)
    js_page.select_option("#plan_id", "acme-ppo-gold-2026")
    js_page.fill("#start_date", "2026-03-02")
    js_page.click(f"button:has-text('{button}')")
    js_page.locator(".handout-head h1").wait_for()  # the handout, not the form (click does not wait)
    pdf = js_page.pdf(format="Letter", print_background=True)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))  # page objects, not the /Pages tree
    assert 1 <= pages <= 2, pages


def test_chart_text_is_readable_on_a_phone(browser: Any, base_url: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    page = context.new_page()
    compare_results(page, base_url)
    label = page.locator("svg.chart text.axis").first.bounding_box()
    legend = page.locator("svg.chart text.legend").first.bounding_box()
    context.close()
    # rendered glyph boxes: at least 10 px tall (before the fix, the 12 px text scaled to 390/760)
    assert label["height"] >= 10 and legend["height"] >= 10, (label, legend)


def test_api_docs_load_with_the_network_blocked(js_page: Any, base_url: str) -> None:
    """/schema renders Swagger UI from files the service itself serves; nothing leaves the machine."""
    outside: list[str] = []

    def only_loopback(route: Any) -> None:
        if route.request.url.startswith(base_url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    js_page.route("**/*", only_loopback)
    js_page.goto(f"{base_url}/schema")
    js_page.wait_for_selector(".swagger-ui .info .title", timeout=15_000)
    assert "coverage" in js_page.locator(".swagger-ui .info .title").inner_text()
    assert js_page.locator(".opblock").count() > 5  # the operations rendered
    assert outside == []
