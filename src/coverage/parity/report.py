"""MHPAEA parity report: every test of one plan (SPEC 7, docs/parity.md), assembled.

The tests are in `coverage.parity.tests`, their words in `coverage.parity.explain`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from fractions import Fraction
from typing import Literal

from coverage.errors import NotFound
from coverage.parity.explain import (
    APPLICABILITY,
    CAVEATS,
    CLASSIFICATION_LABELS,
    cumulative_findings,
    explain_comparison,
    explain_medsurg,
    missing_data_finding,
    nqtl_finding,
    unprojected_deductible_findings,
)
from coverage.parity.findings import (
    ClassificationSummary,
    LevelRow,
    MedSurgTable,
    ParityFinding,
    ParityReport,
)
from coverage.parity.schema import PARITY_CLASSIFICATIONS, REQUIREMENT_TYPES, ParityClassification
from coverage.parity.tests import (
    RULE_PREDOMINANT,
    RULE_SUBSTANTIALLY_ALL,
    VERDICT_SEVERITY,
    Placement,
    QuantitativeTest,
    Verdict,
    benefit_of,
    decimal_text,
    deductible_of,
    mhsud_level,
    placements,
    quantitative_verdict,
    run_quantitative_test,
)
from coverage.plans import Plan


def medsurg_table(test: QuantitativeTest) -> MedSurgTable:
    predominant = test.predominant
    in_combination = set(predominant.combination) if predominant else set()
    method: Literal["single_level", "combined"] | None = None
    if predominant is not None:
        method = "combined" if predominant.combined else "single_level"
    return MedSurgTable(
        classification=test.classification,
        type=test.requirement,
        total_cents=test.total_cents,
        subject_cents=test.subject_cents,
        substantially_all_share=decimal_text(test.share),
        substantially_all_share_exact=str(test.share),
        substantially_all=test.substantially_all,
        levels=[
            LevelRow(
                level=level.key,
                label=level.label,
                payments_cents=payments,
                share_of_subject=decimal_text(Fraction(payments, test.subject_cents)),
                in_predominant_combination=level in in_combination,
            )
            for level, payments in test.levels
        ],
        predominant_level=predominant.level.key if predominant else None,
        predominant_label=predominant.level.label if predominant else None,
        predominant_method=method,
        predominant_share=decimal_text(predominant.share) if predominant else None,
        predominant_share_exact=str(predominant.share) if predominant else None,
    )


def _worst(verdicts: Sequence[Verdict]) -> Verdict:
    return max(verdicts, key=VERDICT_SEVERITY.__getitem__, default="not_applicable")


def _classification_findings(
    plan: Plan, classification: ParityClassification, here: list[Placement], tables: list[MedSurgTable]
) -> list[ParityFinding]:
    """All findings of one classification; appends its med/surg tables to `tables`."""
    assert plan.parity is not None
    data = plan.parity.medsurg.get(classification)
    if data is None:
        return [missing_data_finding(placement) for placement in here]
    findings: list[ParityFinding] = []
    for requirement in REQUIREMENT_TYPES:
        if requirement == "deductible" and data.deductible is None:
            findings.extend(unprojected_deductible_findings(plan, classification, here))
            continue
        test = run_quantitative_test(classification, requirement, data)
        table = medsurg_table(test)
        tables.append(table)
        medsurg_words = explain_medsurg(test)
        common = {
            "classification": classification,
            "type": requirement,
            "rule": RULE_PREDOMINANT if test.substantially_all else RULE_SUBSTANTIALLY_ALL,
            "substantially_all_share": table.substantially_all_share,
            "predominant_level": table.predominant_level,
        }
        if not here:
            explanation = (
                f"{medsurg_words} The plan file places no MH/SUD benefit in this classification, so "
                f"nothing is compared: not applicable."
            )
            findings.append(ParityFinding(verdict="not_applicable", explanation=explanation, **common))
        for placement in here:
            level = mhsud_level(requirement, benefit_of(plan, placement), deductible_of(plan, placement))
            findings.append(
                ParityFinding(
                    verdict=quantitative_verdict(test, level),
                    explanation=f"{medsurg_words} {explain_comparison(test, placement, level)}",
                    mhsud_category=placement.category,
                    mhsud_network=placement.network,
                    mhsud_level=level.key if level else None,
                    mhsud_level_label=level.label if level else None,
                    **common,
                )
            )
    for nqtl in ("prior_auth", "concurrent_review"):
        for placement in here:
            finding = nqtl_finding(placement, benefit_of(plan, placement), data, nqtl)
            if finding is not None:
                findings.append(finding)
    return findings


def build_parity_report(plan: Plan) -> ParityReport:
    """Every parity test of one plan (SPEC 7); raises NotFound without a [parity] section."""
    if plan.parity is None:
        raise NotFound.at(
            "plan_id", f"plan {plan.id!r} has no [parity] section to test against (see docs/parity.md)"
        )
    medsurg = plan.parity.medsurg
    placed = placements(plan)
    findings: list[ParityFinding] = []
    tables: list[MedSurgTable] = []
    summaries: list[ClassificationSummary] = []
    for classification in PARITY_CLASSIFICATIONS:
        here = [placement for placement in placed if placement.classification == classification]
        has_data = medsurg.get(classification) is not None
        if not here and not has_data:
            continue
        found = _classification_findings(plan, classification, here, tables)
        findings.extend(found)
        summaries.append(
            ClassificationSummary(
                classification=classification,
                label=CLASSIFICATION_LABELS[classification],
                verdict=_worst([finding.verdict for finding in found]),
                finding_counts=dict(Counter(finding.verdict for finding in found)),
                mhsud_benefits=[f"{placement.category} ({placement.network})" for placement in here],
                has_medsurg_data=has_data,
            )
        )
    findings.extend(cumulative_findings(plan))
    return ParityReport(
        plan_id=plan.id,
        plan_name=plan.name,
        plan_kind=plan.kind,
        sample_data=plan.sample_data,
        applicability=APPLICABILITY[plan.kind],
        verdict=_worst([finding.verdict for finding in findings]),
        classifications=summaries,
        findings=findings,
        medsurg_tables=tables,
        placements=placed,
        caveats=list(CAVEATS),
    )
