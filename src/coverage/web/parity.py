"""Parity report over the web (staff): JSON as `coverage parity --json`, and a printable page.

Both call `coverage.parity.report.build_parity_report`; this module only looks the plan up, maps the
errors to the service's `{"errors": [...]}` shape and groups the report for the template.
"""

from __future__ import annotations

from fractions import Fraction

from litestar import get
from litestar.params import FromPath
from litestar.response import Template
from msgspec import Struct

from coverage.errors import unknown_plan
from coverage.parity.findings import ClassificationSummary, MedSurgTable, ParityFinding, ParityReport
from coverage.parity.report import build_parity_report
from coverage.parity.tests import ALL_CLASSIFICATIONS, exact_places
from coverage.plans import PlanCatalog
from coverage.web.shared import Catalog, StaffController, staff_errors


def report_for(catalog: PlanCatalog, plan_id: str) -> ParityReport:
    """The plan's parity report; NotFound (404) naming `plan_id` when the plan or its [parity] data
    is missing."""
    loaded = catalog.get(plan_id)
    if loaded is None:
        raise unknown_plan(plan_id)
    return build_parity_report(loaded.plan)


class ClassificationSection(Struct, frozen=True):
    """One classification on the page: its verdict, the med/surg tables and its findings."""

    summary: ClassificationSummary
    tables: list[MedSurgTable]
    findings: list[ParityFinding]


def is_rounded(exact: str) -> bool:
    """Whether a share's decimal text was rounded: its exact fraction ("2/3") never ends."""
    return exact_places(Fraction(exact)) is None


def sections(report: ParityReport) -> list[ClassificationSection]:
    return [
        ClassificationSection(
            summary=summary,
            tables=[
                table for table in report.medsurg_tables if table.classification == summary.classification
            ],
            findings=[
                finding for finding in report.findings if finding.classification == summary.classification
            ],
        )
        for summary in report.classifications
    ]


class ParityRoutes(StaffController):
    tags = ["parity"]  # noqa: RUF012

    @get("/plans/{plan_id:str}/parity", sync_to_thread=False, responses=staff_errors(404))
    def parity_json(self, catalog: Catalog, plan_id: FromPath[str]) -> ParityReport:
        """MHPAEA parity report of one plan (docs/parity.md), as `coverage parity --json`."""
        return report_for(catalog, plan_id)

    @get("/plans/{plan_id:str}/parity/report", sync_to_thread=False, include_in_schema=False)
    def parity_page(self, catalog: Catalog, plan_id: FromPath[str]) -> Template:
        """The same report as a printable page for a compliance memo."""
        report = report_for(catalog, plan_id)
        plan_wide = [f for f in report.findings if f.classification == ALL_CLASSIFICATIONS]
        return Template(
            template_name="parity.html",
            context={
                "report": report,
                "sections": sections(report),
                "plan_wide": plan_wide,
                "rounded": is_rounded,
                "staff": True,
            },
        )


ROUTES = [ParityRoutes]
