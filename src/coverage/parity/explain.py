"""Parity findings in words a compliance analyst can paste into a memo.

The numbers come from `coverage.parity.tests`; this module only says them, with every number
used and the rule that applies.
"""

from __future__ import annotations

from typing import Literal

from coverage.levels import CATEGORIES
from coverage.levels import CATEGORY_LABELS as CATEGORY_NAMES
from coverage.money import format_usd
from coverage.parity.findings import ParityFinding
from coverage.parity.schema import MedSurgClassification, ParityClassification, RequirementType
from coverage.parity.tests import (
    ALL_CLASSIFICATIONS,
    RULE_CLASSIFICATIONS,
    RULE_CUMULATIVE,
    RULE_NQTL,
    RULE_PREDOMINANT,
    RULE_SUBSTANTIALLY_ALL,
    FindingType,
    Placement,
    QuantitativeTest,
    RequirementLevel,
    Verdict,
    benefit_of,
    deductible_of,
    mhsud_level,
    share_words,
)
from coverage.plans import Benefit, Plan, PlanKind

CLASSIFICATION_LABELS: dict[ParityClassification, str] = {
    "inpatient_in_network": "Inpatient, in network",
    "inpatient_out_of_network": "Inpatient, out of network",
    "outpatient_in_network": "Outpatient, in network",
    "outpatient_in_network_office": "Outpatient, in network, office visits",
    "outpatient_in_network_all_other": "Outpatient, in network, all other items and services",
    "outpatient_out_of_network": "Outpatient, out of network",
    "outpatient_out_of_network_office": "Outpatient, out of network, office visits",
    "outpatient_out_of_network_all_other": "Outpatient, out of network, all other items and services",
    "emergency": "Emergency care",
    "prescription_drugs": "Prescription drugs",
}
_SETTING_WORDS = {
    "office": "office therapy",
    "iop": "intensive outpatient (IOP)",
    "php": "partial hospitalization (PHP)",
}
# "mh_office" -> "mental health office therapy": the category's one label (coverage.levels).
CATEGORY_LABELS: dict[str, str] = {
    f"{category}_{setting}": f"{CATEGORY_NAMES[category].lower()} {words}"
    for category in CATEGORIES
    for setting, words in _SETTING_WORDS.items()
}

TYPE_NOUNS: dict[RequirementType, str] = {
    "copay": "a copay",
    "coinsurance": "coinsurance",
    "visit_limit": "a visit or day limit",
    "deductible": "a deductible",
}
# The word that says a level is more restrictive than another of its type.
MORE_RESTRICTIVE_WORD: dict[RequirementType, str] = {
    "copay": "higher",
    "coinsurance": "higher",
    "visit_limit": "lower",
    "deductible": "higher",
}
LESS_RESTRICTIVE_WORD: dict[RequirementType, str] = {
    "copay": "lower",
    "coinsurance": "lower",
    "visit_limit": "higher",
    "deductible": "lower",
}
MORE_RESTRICTIVE_MEANS = (
    "More restrictive means a higher copay, a higher coinsurance rate, a higher deductible, or a "
    "lower visit or day limit; any visit or day limit is more restrictive than none."
)


def needs_review(
    placement: Placement,
    kind: FindingType,
    rule: str,
    explanation: str,
    level: tuple[str, str] | None = None,  # the MH/SUD level, plan-file spelling and for people
) -> ParityFinding:
    """A finding arithmetic cannot settle, about one placed MH/SUD benefit."""
    return ParityFinding(
        classification=placement.classification,
        type=kind,
        verdict="needs_review",
        rule=rule,
        explanation=explanation,
        mhsud_category=placement.category,
        mhsud_network=placement.network,
        mhsud_level=level[0] if level else None,
        mhsud_level_label=level[1] if level else None,
    )


def benefit_words(placement: Placement) -> str:
    network = placement.network.replace("_", "-")
    return f"{network} {CATEGORY_LABELS[placement.category]} benefit ({placement.category})"


def explain_medsurg(test: QuantitativeTest) -> str:
    """Steps 1 and 2 in words, with every number used."""
    noun = TYPE_NOUNS[test.requirement]
    label = CLASSIFICATION_LABELS[test.classification]
    total = format_usd(test.total_cents)
    if test.subject_cents == 0:
        return (
            f"{label}: none of the {total} in projected med/surg plan payments for the plan year is subject "
            f"to {noun}, so MH/SUD benefits here may not carry {noun} at all."
        )
    words = (
        f"{label}: {noun} applies to {format_usd(test.subject_cents)} of the {total} in projected med/surg "
        f"plan payments for the plan year ({share_words(test.share)}), "
    )
    if not test.substantially_all:
        return words + (
            f"less than two-thirds, so it does not apply to substantially all med/surg benefits in the "
            f"classification and MH/SUD benefits here may not carry {noun} at all."
        )
    words += (
        "at least two-thirds, so it applies to substantially all med/surg benefits in the classification."
    )
    predominant = test.predominant
    assert predominant is not None  # computed whenever the type is substantially all
    subject = format_usd(test.subject_cents)
    if not predominant.combined:
        return words + (
            f" {predominant.level.with_article[0].upper()}{predominant.level.with_article[1:]} applies to "
            f"{format_usd(predominant.covered_cents)} of the {subject} subject to {noun} "
            f"({share_words(predominant.share)}), more than one-half, so it is the predominant level."
        )
    combination = ", ".join(level.label for level in predominant.combination)
    return words + (
        f" No single level applies to more than one-half of the {subject} subject to {noun}; combining "
        f"levels from the most restrictive ({combination}) covers {format_usd(predominant.covered_cents)} "
        f"({share_words(predominant.share)}), more than one-half, so the least restrictive of them, "
        f"the {predominant.level.label}, is the predominant level."
    )


def explain_comparison(test: QuantitativeTest, placement: Placement, mhsud: RequirementLevel | None) -> str:
    """Step 3 in words."""
    benefit = benefit_words(placement)
    noun = TYPE_NOUNS[test.requirement]
    if mhsud is None:
        return f"The {benefit} carries no {noun.removeprefix('a ')}, so it cannot be more restrictive: pass."
    if test.predominant is None:
        return f"Yet the {benefit} carries {mhsud.with_article}: fail ({RULE_SUBSTANTIALLY_ALL})."
    predominant = test.predominant.level
    if mhsud.restrictiveness > predominant.restrictiveness:
        return (
            f"The {benefit} carries {mhsud.with_article}, {MORE_RESTRICTIVE_WORD[test.requirement]} than the "
            f"predominant {predominant.label}, so it is more restrictive: fail ({RULE_PREDOMINANT})."
        )
    relation = (
        "the same as"
        if mhsud.restrictiveness == predominant.restrictiveness
        else f"{LESS_RESTRICTIVE_WORD[test.requirement]} than"
    )
    return (
        f"The {benefit} carries {mhsud.with_article}, {relation} the predominant {predominant.label}, "
        f"so it is no more restrictive: pass."
    )


def nqtl_finding(
    placement: Placement,
    benefit: Benefit,
    data: MedSurgClassification,
    nqtl: Literal["prior_auth", "concurrent_review"],
) -> ParityFinding | None:
    """A finding when the MH/SUD benefit has the NQTL and med/surg services here do not."""
    medsurg_has_it = data.prior_auth if nqtl == "prior_auth" else data.concurrent_review
    if not benefit.prior_auth or medsurg_has_it:
        return None
    if nqtl == "prior_auth":
        what = f"prior authorization (without it: {benefit.no_auth})"
        name = "Prior authorization"
    else:
        what = (
            f"concurrent review (the first {benefit.auth_initial_units} units authorized, then a review "
            f"every {benefit.auth_review_units} units)"
        )
        name = "Concurrent review"
    classification = placement.classification
    explanation = (
        f"The {benefit_words(placement)} requires {what}, while the plan file says med/surg services in "
        f"{CLASSIFICATION_LABELS[classification].lower()} use none "
        f"([parity.medsurg.{classification}] {nqtl} = false). {name} is a "
        f"nonquantitative treatment limitation, which arithmetic cannot settle: the plan must show in a "
        f"comparative analysis that the processes, strategies, evidentiary standards and other factors "
        f"behind it are comparable to, and applied no more stringently than, those for med/surg benefits "
        f"in the classification ({RULE_NQTL}). Needs review."
    )
    return needs_review(placement, nqtl, RULE_NQTL, explanation, ("required", "required"))


def unprojected_deductible_findings(
    plan: Plan, classification: ParityClassification, here: list[Placement]
) -> list[ParityFinding]:
    """Benefits that apply the deductible where the plan file does not say which med/surg payments do."""
    findings = []
    for placement in here:
        level = mhsud_level("deductible", benefit_of(plan, placement), deductible_of(plan, placement))
        if level is None:
            continue
        explanation = (
            f"The {benefit_words(placement)} applies the {level.label}, but the plan file does not project "
            f"which med/surg payments in {CLASSIFICATION_LABELS[classification].lower()} are subject to a "
            f"deductible ([parity.medsurg.{classification}] deductible), so the substantially-all and "
            f"predominant tests cannot be run ({RULE_SUBSTANTIALLY_ALL}). Needs review."
        )
        shown = (level.key, level.label)
        findings.append(needs_review(placement, "deductible", RULE_SUBSTANTIALLY_ALL, explanation, shown))
    return findings


def missing_data_finding(placement: Placement) -> ParityFinding:
    classification = placement.classification
    explanation = (
        f"The {benefit_words(placement)} is in {CLASSIFICATION_LABELS[classification].lower()}, but "
        f"the plan file has no [parity.medsurg.{classification}] projections, so its copay, "
        f"coinsurance and visit-limit tests cannot be run. Add the projected med/surg plan payments for "
        f"that classification. Needs review."
    )
    return needs_review(placement, "medsurg_data", RULE_CLASSIFICATIONS, explanation)


def cumulative_findings(plan: Plan) -> list[ParityFinding]:
    """(c)(3)(v): deductible and out-of-pocket maximum accumulate together, never separately."""
    assert plan.parity is not None
    limits = [("in network", plan.accumulators.in_network)]
    if plan.accumulators.out_of_network is not None:
        limits.append(("out of network", plan.accumulators.out_of_network))
    findings: list[ParityFinding] = []
    for kind, separate, flag, noun in (
        ("deductible", plan.parity.separate_mhsud_deductible, "separate_mhsud_deductible", "deductible"),
        ("oop_max", plan.parity.separate_mhsud_oop_max, "separate_mhsud_oop_max", "out-of-pocket maximum"),
    ):
        if separate:
            verdict: Verdict = "fail"
            explanation = (
                f"The plan file says MH/SUD benefits have a {noun} of their own ([parity] {flag} = true). "
                f"A {noun} is a cumulative requirement: MH/SUD and med/surg expenses must count toward one "
                f"combined {noun} in each classification, never separate ones ({RULE_CUMULATIVE}): fail."
            )
        else:
            verdict = "pass"
            amounts = []
            for network, network_limits in limits:
                cents = (
                    network_limits.deductible_individual_cents
                    if kind == "deductible"
                    else network_limits.oop_max_individual_cents
                )
                if cents is not None:
                    amounts.append(f"{format_usd(cents)} individual {network}")
            shared = (
                f"MH/SUD and med/surg expenses count toward the same {noun} ({'; '.join(amounts)})"
                if amounts
                else f"The plan has no {noun}"
            )
            explanation = f"{shared}, so nothing accumulates separately for MH/SUD ({RULE_CUMULATIVE}): pass."
        findings.append(ParityFinding(ALL_CLASSIFICATIONS, kind, verdict, RULE_CUMULATIVE, explanation))
    return findings



APPLICABILITY: dict[PlanKind, str] = {
    "commercial": (
        "Group health plans and health insurance issuers: MHPAEA, 29 CFR 2590.712 and 45 CFR 146.136. "
        "Exemptions (small employer, increased cost, non-federal governmental opt-out) are not checked."
    ),
    "medicaid": (
        "Medicaid managed care: 42 CFR 438 subpart K (438.910) applies these same tests; its "
        "classifications (inpatient, outpatient, emergency care, prescription drugs) have no network split."
    ),
    "medicare": "MHPAEA does not apply to Original Medicare; the tests are run for information only.",
    "medicare_advantage": (
        "MHPAEA does not apply to Medicare Advantage plans; the tests are run for information only."
    ),
}
CAVEATS = (
    MORE_RESTRICTIVE_MEANS,
    "Shares are of the plan's projected med/surg plan payments for the plan year, as the plan file "
    "states them; the report does not check those projections.",
    "A zero copay or 0% coinsurance counts as not subject to that type, on both sides "
    "(29 CFR 2590.712(c)(3)(i)(A)).",
    "Prior authorization and concurrent review are listed only where the plan file says comparable "
    "med/surg services in the classification have none. Every nonquantitative treatment limitation "
    "still needs the documented comparative analysis of 29 CFR 2590.712(c)(4), which this report "
    "does not perform.",
    "A deductible is a financial requirement (29 CFR 2590.712(a)): an MH/SUD benefit that applies the "
    "plan's deductible is tested like a copay, against the med/surg payments the plan file projects as "
    "subject to a deductible; where the plan file projects none for the classification "
    "([parity.medsurg.<classification>] deductible absent) it needs review.",
)

