"""Screenshots of the pages for docs/screenshots/, taken in headless Chromium.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Starts its own uvicorn on loopback (a throwaway staff key), fills the forms for the sample
plan acme-ppo-gold-2026 from 2026-03-02 and saves full-page PNGs: the Compare page with
results (also in Spanish, and on a 390 px phone), the same page's form errors, the Admissions
workspace, the same with a screening (crises weekly, 4 months without progress, passive
thoughts of death: IOP, crisis resources), and the family handout as printed (print media,
English and Spanish); then the admissions flow against a fake clearinghouse on loopback: a
verification with its mapped benefits and the value the payer did not state, the estimate at the
program's rates after staff enter it, and an issued Good Faith Estimate.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests/ helpers
from tests.local_server import fake_clearinghouse, launch_chromium, local_server
from tests.test_browser_admissions import fake_271

# A screening that recommends IOP and, through the safety answer, shows the crisis resources.
SCREENING = {
    "symptom_severity": "moderate",
    "crisis_frequency": "weekly",
    "safety_concerns": "passive_ideation",
    "coping_skills": "some",
    "support_system": "some",
    "co_occurring": "none",
    "stepping_down_from": "none",
    "months_without_progress": "4",
    "medical_stability": "stable",
    "home_situation": "safe_stable",
    "attendance": "3_to_4_days",
}


def fill_screening(page: Page) -> None:
    for name, answer in SCREENING.items():
        field = page.locator(f"#{name}")
        if field.evaluate("element => element.tagName") == "SELECT":
            field.select_option(answer)
        else:
            field.fill(answer)


def fill_compare(page: Page, base_url: str, lang: str = "en") -> None:
    page.goto(f"{base_url}/compare?lang={lang}")
    page.select_option("#plan_id", "acme-ppo-gold-2026")
    page.fill("#start_date", "2026-03-02")
    page.click("button[type=submit]:not(.link)")


def admissions_flow(out: Path) -> None:
    """Verify (fake clearinghouse), estimate with an entered value, issue a Good Faith Estimate."""
    key = secrets.token_urlsafe(16)
    with (
        fake_clearinghouse(fake_271()) as (eligibility_url, _),
        local_server(
            env={
                "COVERAGE_API_KEYS": key,
                "COVERAGE_ELIGIBILITY_URL": eligibility_url,
                "COVERAGE_PROVIDER_NPI": "1234567893",
                "COVERAGE_PROVIDER_NAME": "Sample Behavioral Health",
                "COVERAGE_DB": str(out.resolve() / ".screenshots.sqlite"),
            }
        ) as base_url,
        sync_playwright() as playwright,
    ):
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base_url}/login?next=/admissions")
        page.fill("#api_key", key)
        page.click("button:has-text('Log in')")
        for field, value in (
            ("member_id", "ZZA123456789"),
            ("first_name", "Jane"),
            ("last_name", "Doe"),
            ("date_of_birth", "1990-02-15"),
            ("date_of_service", "2026-03-02"),
            ("performed_by", "intake-1"),
        ):
            page.fill(f"#{field}", value)
        page.select_option("#payer_id", "ACMEH")
        page.click("button:has-text('Verify benefits')")
        page.locator("#outcome-title").wait_for()
        page.screenshot(path=out / "admissions-verified.png", full_page=True)
        page.fill("[name='entered.oop_max_individual']", "3000.00")
        page.click("button[value=screen]")
        page.locator("table.totals").wait_for()
        page.screenshot(path=out / "admissions-verified-estimate.png", full_page=True)
        page.goto(f"{base_url}/admissions")
        page.select_option("#self_pay", "yes")
        page.fill("#start_date", "2026-03-02")
        page.select_option("#gfe_scenario", "iop")
        for field, value in (
            ("diagnosis_codes", "F33.1"),
            ("issued_by", "intake-1"),
            ("patient_first_name", "Sam"),
            ("patient_last_name", "Rivera"),
            ("patient_date_of_birth", "1985-07-04"),
        ):
            page.fill(f"#{field}", value)
        page.click("button:has-text('Issue a Good Faith Estimate')")
        page.locator("article.gfe").wait_for()
        page.emulate_media(media="print")
        page.screenshot(path=out / "gfe-print.png", full_page=True)
        browser.close()
    for suffix in ("", "-wal", "-shm"):
        (out / f".screenshots.sqlite{suffix}").unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(16)
    with local_server(env={"COVERAGE_API_KEYS": key}) as base_url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        fill_compare(page, base_url)
        page.screenshot(path=out / "compare.png", full_page=True)

        fill_compare(page, base_url, "es")
        page.screenshot(path=out / "compare-es.png", full_page=True)

        phone = browser.new_page(viewport={"width": 390, "height": 844})
        fill_compare(phone, base_url)
        phone.screenshot(path=out / "compare-390.png", full_page=True)
        phone.close()

        page.goto(f"{base_url}/compare?source=typed")
        page.fill("#copay", "-30")
        page.fill("#coinsurance", "120")
        page.fill("#start_date", "2026-03-02")
        page.click("button:has-text('Compare costs')")
        page.locator("form.estimate").screenshot(path=out / "compare-errors.png")

        page.goto(f"{base_url}/login?next=/admissions")
        page.fill("#api_key", key)
        page.click("button:has-text('Log in')")
        page.select_option("#plan_id", "acme-ppo-gold-2026")
        page.fill("#start_date", "2026-03-02")
        page.click("button:has-text('Estimate')")
        page.screenshot(path=out / "admissions.png", full_page=True)

        fill_screening(page)
        page.click("button:has-text('Estimate')")
        page.locator(".screening-result details").evaluate("element => element.open = true")
        page.screenshot(path=out / "admissions-screening.png", full_page=True)

        page.click("button:has-text('Printable handout')")
        page.emulate_media(media="print")
        page.screenshot(path=out / "admissions-print.png", full_page=True)
        page.pdf(path=str(out / "admissions-print.pdf"), format="Letter", print_background=True)
        page.emulate_media(media="screen")
        page.goto(f"{base_url}/admissions")
        page.select_option("#plan_id", "acme-ppo-gold-2026")
        page.fill("#start_date", "2026-03-02")
        page.click("button:has-text('Hoja para la familia')")
        page.emulate_media(media="print")
        page.screenshot(path=out / "admissions-print-es.png", full_page=True)
        browser.close()
    admissions_flow(out)
    for path in sorted(out.iterdir()):
        print(path)


if __name__ == "__main__":
    main()
