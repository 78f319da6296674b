"""`coverage parity --plan ID [--json]`: the MHPAEA parity report of one plan (docs/parity.md)."""

from __future__ import annotations

import argparse
import sys

import msgspec

from coverage.cli.common import catalog_of, plan_command, plan_of
from coverage.money import format_usd
from coverage.parity.findings import ParityReport
from coverage.parity.report import build_parity_report

SUMMARY = "MHPAEA parity report: MH/SUD cost sharing against med/surg"
DESCRIPTION = (
    "Runs the 29 CFR 2590.712(c)(3) tests on the plan file's [parity] projections. "
    "Exit 0 when the verdict is PASS (or needs review), 1 when it is FAIL, 2 on a bad argument."
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = plan_command(subparsers, "parity", SUMMARY, DESCRIPTION)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=run, options={"plan_id": "--plan"})


def run(args: argparse.Namespace) -> int:
    report = build_parity_report(plan_of(args, catalog_of(args)).plan)  # NotFound: plan_id, --plan
    if args.json:
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(report)).decode() + "\n")
    else:
        sys.stdout.write(render_text(report))
    return 1 if report.verdict == "fail" else 0  # scripts can gate on a failing plan


def _row(cells: list[str], widths: list[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(line[column]) for line in [header, *rows]) for column in range(len(header))]
    return [_row(header, widths), _row(["-" * width for width in widths], widths)] + [
        _row(row, widths) for row in rows
    ]


def render_text(report: ParityReport) -> str:
    """Summary per classification, every finding in a table, the med/surg tables, then the
    explanation of each finding that did not pass."""
    lines = [
        f"Parity report: {report.plan_name} ({report.plan_id})"
        + (" [illustrative sample plan]" if report.sample_data else ""),
        f"Applies: {report.applicability}",
        f"Overall verdict: {report.verdict.upper()}",
        "",
        "Summary by classification",
    ]
    lines += _table(
        ["classification", "verdict", "MH/SUD benefits tested here"],
        [
            [summary.classification, summary.verdict.upper(), ", ".join(summary.mhsud_benefits) or "-"]
            for summary in report.classifications
        ],
    )
    lines += ["", "Findings"]
    lines += _table(
        ["#", "classification", "type", "MH/SUD", "MH/SUD level", "med/surg share", "predominant", "verdict"],
        [
            [
                str(number),
                finding.classification,
                finding.type,
                f"{finding.mhsud_category} ({finding.mhsud_network})" if finding.mhsud_category else "-",
                finding.mhsud_level or "-",
                finding.substantially_all_share or "-",
                finding.predominant_level or "-",
                finding.verdict.upper(),
            ]
            for number, finding in enumerate(report.findings, 1)
        ],
    )
    lines += ["", "Med/surg tables (projected plan payments; levels most restrictive first)"]
    for table in report.medsurg_tables:
        predominant = "no predominant level (not substantially all)"
        if table.predominant_label:
            method = table.predominant_method
            predominant = f"predominant {table.predominant_label} ({method}, share {table.predominant_share})"
        lines.append(
            f"  {table.classification} / {table.type}: {format_usd(table.subject_cents)} of "
            f"{format_usd(table.total_cents)} (share {table.substantially_all_share}); {predominant}"
        )
        lines += [
            f"      {row.label}: {format_usd(row.payments_cents)} (share of subject {row.share_of_subject})"
            + (" *" if row.in_predominant_combination else "")
            for row in table.levels
        ]
    flagged = [(n, f) for n, f in enumerate(report.findings, 1) if f.verdict in ("fail", "needs_review")]
    if flagged:
        lines += ["", "Explanations (findings that fail or need review)"]
        lines += [
            f"  {number}. [{finding.verdict.upper()}] {finding.explanation}" for number, finding in flagged
        ]
    lines += ["", "Placements (where each MH/SUD benefit was tested)"]
    lines += [
        f"  {placement.category} ({placement.network}): {placement.classification}, {placement.source}"
        for placement in report.placements
    ]
    lines += ["", "Caveats:"] + [f"  - {caveat}" for caveat in report.caveats]
    return "\n".join(lines) + "\n"
