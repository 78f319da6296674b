"""MHPAEA parity report: MH/SUD cost sharing tested against the plan's med/surg projections.

The quantitative tests are those of 29 CFR 2590.712(c)(3) (the same as 45 CFR 146.136(c)(3)),
run per classification and per type of financial requirement (copay, coinsurance) or
quantitative treatment limitation (visit or day limit) on the projected med/surg plan payments
in the plan file's `[parity]` section (SPEC 7, docs/parity.md):

1. substantially all: the type applies to at least two-thirds of the classification's payments;
   if not, MH/SUD benefits in the classification may not carry that type at all;
2. predominant level: the level that applies to more than one-half of the payments subject to
   the type; if no single level does, levels are combined from the most restrictive, adding the
   next less restrictive, until the combination exceeds one-half, and the least restrictive
   level in the combination is the predominant level;
3. MH/SUD cost sharing of the type may not be more restrictive than the predominant level.

"More restrictive" means a higher copay, a higher coinsurance rate, or a lower visit or day
limit (any limit is more restrictive than none). Separate MH/SUD deductibles or out-of-pocket
maximums fail (c)(3)(v); prior authorization and concurrent review on MH/SUD benefits where
med/surg services in the classification have none are listed for the comparative analysis
(c)(4) that arithmetic cannot replace. Every share is an exact Fraction; nothing is a float.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Literal

from msgspec import Struct

from coverage.money import Percent, format_dollars, format_usd
from coverage.plans import (
    CATEGORY_KEYS,
    PARITY_CLASSIFICATIONS,
    REQUIREMENT_TYPES,
    Benefit,
    MedSurgClassification,
    MedSurgProjections,
    ParityClassification,
    ParityLevelValue,
    Plan,
    PlanKind,
    RequirementType,
)

TWO_THIRDS = Fraction(2, 3)
ONE_HALF = Fraction(1, 2)

Verdict = Literal["pass", "fail", "needs_review", "not_applicable"]
VERDICT_SEVERITY: dict[Verdict, int] = {"not_applicable": 0, "pass": 1, "needs_review": 2, "fail": 3}
FindingType = Literal[
    "copay",
    "coinsurance",
    "visit_limit",
    "prior_auth",
    "concurrent_review",
    "medsurg_data",
    "deductible",
    "oop_max",
]
NetworkKey = Literal["in_network", "out_of_network"]
ALL_CLASSIFICATIONS = "all_classifications"  # the classification named by plan-wide findings

RULE_SUBSTANTIALLY_ALL = "29 CFR 2590.712(c)(3)(i)(A)"
RULE_PREDOMINANT = "29 CFR 2590.712(c)(3)(i)(A)-(B)"
RULE_CUMULATIVE = "29 CFR 2590.712(c)(3)(v)"
RULE_NQTL = "29 CFR 2590.712(c)(4)"
RULE_CLASSIFICATIONS = "29 CFR 2590.712(c)(2)(ii)"

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
CATEGORY_LABELS: dict[str, str] = {
    "mh_office": "mental health office therapy",
    "mh_iop": "mental health intensive outpatient (IOP)",
    "mh_php": "mental health partial hospitalization (PHP)",
    "sud_office": "substance use disorder office therapy",
    "sud_iop": "substance use disorder intensive outpatient (IOP)",
    "sud_php": "substance use disorder partial hospitalization (PHP)",
}
# SPEC 7: weekly therapy is an office visit; IOP and PHP are all other items and services.
DEFAULT_CLASSIFICATIONS: dict[str, ParityClassification] = {
    "mh_office": "outpatient_in_network_office",
    "mh_iop": "outpatient_in_network_all_other",
    "mh_php": "outpatient_in_network_all_other",
    "sud_office": "outpatient_in_network_office",
    "sud_iop": "outpatient_in_network_all_other",
    "sud_php": "outpatient_in_network_all_other",
}
TYPE_NOUNS: dict[RequirementType, str] = {
    "copay": "a copay",
    "coinsurance": "coinsurance",
    "visit_limit": "a visit or day limit",
}
# The word that says a level is more restrictive than another of its type.
MORE_RESTRICTIVE_WORD: dict[RequirementType, str] = {
    "copay": "higher",
    "coinsurance": "higher",
    "visit_limit": "lower",
}
LESS_RESTRICTIVE_WORD: dict[RequirementType, str] = {
    "copay": "lower",
    "coinsurance": "lower",
    "visit_limit": "higher",
}
MORE_RESTRICTIVE_MEANS = (
    "More restrictive means a higher copay, a higher coinsurance rate, or a lower visit or day "
    "limit; any visit or day limit is more restrictive than none."
)


class NoParityData(ValueError):
    """The plan file has no [parity] section, so there is nothing to test against."""


# ---- exact numbers -------------------------------------------------------------------------


def exact_places(value: Fraction) -> int | None:
    """How many decimal places write `value` exactly; None when its decimal never ends (2/3)."""
    denominator, twos, fives = value.denominator, 0, 0
    while denominator % 2 == 0:
        denominator, twos = denominator // 2, twos + 1
    while denominator % 5 == 0:
        denominator, fives = denominator // 5, fives + 1
    return max(twos, fives) if denominator == 1 else None


def decimal_text(value: Fraction, places_if_inexact: int = 6) -> str:
    """A share as a decimal string: exact when it terminates ("0.875"), else rounded ("0.666667")."""
    places = exact_places(value)
    if places is not None:
        return format(Decimal(value.numerator * 10**places // value.denominator).scaleb(-places), "f")
    quotient = Decimal(value.numerator) / Decimal(value.denominator)
    return format(quotient.quantize(Decimal(1).scaleb(-places_if_inexact), rounding=ROUND_HALF_UP), "f")


def share_words(value: Fraction) -> str:
    """A share for people: "80%" when exact, else "about 66.67% (exactly 2/3)"."""
    percent = value * 100
    if exact_places(percent) is not None:
        return f"{decimal_text(percent)}%"
    return f"about {decimal_text(percent, 2)}% (exactly {value})"


# ---- levels and the tests --------------------------------------------------------------------


class RequirementLevel(Struct, frozen=True):
    """One level of one type. A higher `restrictiveness` is more restrictive (module docstring)."""

    requirement: RequirementType
    key: str  # the plan-file spelling: "20.00", "20%", "30"
    label: str  # for people: "$20.00 copay", "20% coinsurance", "limit of 30 visits/days a year"
    restrictiveness: Decimal

    @property
    def with_article(self) -> str:
        """The label as a sentence needs it: "a $20.00 copay", "20% coinsurance"."""
        return self.label if self.requirement == "coinsurance" else f"a {self.label}"


def requirement_level(requirement: RequirementType, value: ParityLevelValue) -> RequirementLevel:
    """The level of a copay (cents), a coinsurance (Percent) or a visit or day limit (units)."""
    if isinstance(value, Percent):
        return RequirementLevel(requirement, str(value), f"{value} coinsurance", value.fraction)
    if requirement == "copay":
        return RequirementLevel(
            requirement, format_dollars(value), f"{format_usd(value)} copay", Decimal(value)
        )
    return RequirementLevel(requirement, str(value), f"limit of {value} visits/days a year", Decimal(-value))


def mhsud_level(requirement: RequirementType, benefit: Benefit) -> RequirementLevel | None:
    """The MH/SUD benefit's level of a type; None when it carries none (a zero level is none)."""
    if requirement == "copay":
        return requirement_level("copay", benefit.copay_cents) if benefit.copay_cents else None
    if requirement == "coinsurance":
        return requirement_level("coinsurance", benefit.coinsurance) if benefit.coinsurance.fraction else None
    return requirement_level("visit_limit", benefit.visit_limit) if benefit.visit_limit else None


class Predominant(Struct, frozen=True):
    """The predominant level and how it was found."""

    level: RequirementLevel
    combination: tuple[RequirementLevel, ...]  # most restrictive first; just `level` when single
    combined: bool  # False: one level alone applies to more than one-half
    covered_cents: int  # payments subject to the levels in `combination`
    share: Fraction  # covered_cents / payments subject to the type


def predominant_level(levels: Sequence[tuple[RequirementLevel, int]]) -> Predominant | None:
    """Rule (c)(3)(i)(B) over (level, payments) pairs; None when no payments are subject."""
    subject = sum(payments for _, payments in levels)
    if subject == 0:
        return None
    for level, payments in levels:
        if Fraction(payments, subject) > ONE_HALF:
            return Predominant(level, (level,), False, payments, Fraction(payments, subject))
    ordered = sorted(levels, key=lambda pair: pair[0].restrictiveness, reverse=True)
    running = itertools.accumulate(payments for _, payments in ordered)
    # All levels together cover the whole, which exceeds one-half, so this always finds a count.
    count, covered = next((n, c) for n, c in enumerate(running, 1) if Fraction(c, subject) > ONE_HALF)
    combination = tuple(level for level, _ in ordered[:count])
    return Predominant(combination[-1], combination, True, covered, Fraction(covered, subject))


class QuantitativeTest(Struct, frozen=True):
    """Steps 1 and 2 for one classification and type, on the med/surg projections, exact."""

    classification: ParityClassification
    requirement: RequirementType
    total_cents: int
    levels: tuple[tuple[RequirementLevel, int], ...]  # most restrictive first
    subject_cents: int
    share: Fraction  # subject_cents / total_cents
    substantially_all: bool  # share >= 2/3
    predominant: Predominant | None  # None unless substantially_all


def run_quantitative_test(
    classification: ParityClassification, requirement: RequirementType, data: MedSurgClassification
) -> QuantitativeTest:
    levels = sorted(
        (
            (requirement_level(requirement, value), int(payments))
            for value, payments in data.levels(requirement)
        ),
        key=lambda pair: pair[0].restrictiveness,
        reverse=True,
    )
    subject = sum(payments for _, payments in levels)
    share = Fraction(subject, data.total_cents)
    substantially_all = share >= TWO_THIRDS
    return QuantitativeTest(
        classification=classification,
        requirement=requirement,
        total_cents=int(data.total_cents),  # plain ints: msgspec encodes no int subclass
        levels=tuple(levels),
        subject_cents=subject,
        share=share,
        substantially_all=substantially_all,
        predominant=predominant_level(levels) if substantially_all else None,
    )


def quantitative_verdict(test: QuantitativeTest, mhsud: RequirementLevel | None) -> Verdict:
    """Step 3: no level passes; a level where the type is not substantially all fails."""
    if mhsud is None:
        return "pass"
    if test.predominant is None:
        return "fail"
    return "fail" if mhsud.restrictiveness > test.predominant.level.restrictiveness else "pass"


# ---- report structs --------------------------------------------------------------------------


class Placement(Struct, frozen=True):
    """The classification one MH/SUD benefit was tested in, and where that choice came from."""

    category: str
    network: NetworkKey
    classification: ParityClassification
    source: str


class LevelRow(Struct, frozen=True):
    level: str
    label: str
    payments_cents: int
    share_of_subject: str
    in_predominant_combination: bool


class MedSurgTable(Struct, frozen=True):
    """The numbers behind one classification and type, as the report shows them."""

    classification: ParityClassification
    type: RequirementType
    total_cents: int
    subject_cents: int
    substantially_all_share: str
    substantially_all_share_exact: str
    substantially_all: bool
    levels: list[LevelRow]  # most restrictive first
    predominant_level: str | None
    predominant_label: str | None
    predominant_method: Literal["single_level", "combined"] | None
    predominant_share: str | None
    predominant_share_exact: str | None


class ParityFinding(Struct, frozen=True):
    """One test of one MH/SUD benefit (or of the whole plan), with its verdict and why."""

    classification: str  # a classification key, or "all_classifications"
    type: FindingType
    verdict: Verdict
    rule: str
    explanation: str
    mhsud_category: str | None = None
    mhsud_network: NetworkKey | None = None
    mhsud_level: str | None = None  # plan-file spelling: "25.00", "20%", "20"; "required" for an NQTL
    mhsud_level_label: str | None = None  # for people: "$25.00 copay"
    substantially_all_share: str | None = None
    predominant_level: str | None = None


class ClassificationSummary(Struct, frozen=True):
    classification: ParityClassification
    label: str
    verdict: Verdict
    finding_counts: dict[str, int]  # verdict -> number of findings
    mhsud_benefits: list[str]  # "mh_office (in_network)"
    has_medsurg_data: bool


class ParityReport(Struct, frozen=True):
    plan_id: str
    plan_name: str
    plan_kind: PlanKind
    sample_data: bool
    applicability: str
    verdict: Verdict  # the most severe finding's verdict
    classifications: list[ClassificationSummary]
    findings: list[ParityFinding]
    medsurg_tables: list[MedSurgTable]
    placements: list[Placement]
    caveats: list[str]


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


# ---- where each MH/SUD benefit is tested -----------------------------------------------------


def classify(
    chosen: ParityClassification, network: NetworkKey, medsurg: MedSurgProjections
) -> ParityClassification:
    """Move an in-network classification to the benefit's network, split as the med/surg data is."""
    if chosen in ("emergency", "prescription_drugs"):
        return chosen
    moved = chosen.replace("in_network", network)
    if moved.startswith("outpatient_") and not medsurg.is_split(network):
        return f"outpatient_{network}"  # type: ignore[return-value]
    return moved  # type: ignore[return-value]


def placements(plan: Plan) -> list[Placement]:
    """Every MH/SUD benefit in the plan with the classification it is tested in (SPEC 7)."""
    assert plan.parity is not None
    medsurg = plan.parity.medsurg
    found: list[Placement] = []
    for category in CATEGORY_KEYS:
        override: ParityClassification | None = getattr(plan.parity.mhsud_classification, category)
        chosen = override or DEFAULT_CLASSIFICATIONS[category]
        source = f"plan file [parity.mhsud_classification] {category}" if override else "default (SPEC 7)"
        for network in ("in_network", "out_of_network"):
            if plan.benefit(category, "in" if network == "in_network" else "out") is not None:
                found.append(Placement(category, network, classify(chosen, network, medsurg), source))
    return found


def _benefit(plan: Plan, placement: Placement) -> Benefit:
    benefit = plan.benefit(placement.category, "in" if placement.network == "in_network" else "out")
    assert benefit is not None  # placements only name benefits the plan has
    return benefit


def _benefit_words(placement: Placement) -> str:
    network = placement.network.replace("_", "-")
    return f"{network} {CATEGORY_LABELS[placement.category]} benefit ({placement.category})"


# ---- explanations a compliance analyst can paste into a memo --------------------------------


def _explain_medsurg(test: QuantitativeTest) -> str:
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


def _explain_comparison(test: QuantitativeTest, placement: Placement, mhsud: RequirementLevel | None) -> str:
    """Step 3 in words."""
    benefit = _benefit_words(placement)
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


def _nqtl_finding(
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
        f"The {_benefit_words(placement)} requires {what}, while the plan file says med/surg services in "
        f"{CLASSIFICATION_LABELS[classification].lower()} use none "
        f"([parity.medsurg.{classification}] {nqtl} = false). {name} is a "
        f"nonquantitative treatment limitation, which arithmetic cannot settle: the plan must show in a "
        f"comparative analysis that the processes, strategies, evidentiary standards and other factors "
        f"behind it are comparable to, and applied no more stringently than, those for med/surg benefits "
        f"in the classification ({RULE_NQTL}). Needs review."
    )
    return ParityFinding(
        classification=placement.classification,
        type=nqtl,
        verdict="needs_review",
        rule=RULE_NQTL,
        explanation=explanation,
        mhsud_category=placement.category,
        mhsud_network=placement.network,
        mhsud_level="required",
        mhsud_level_label="required",
    )


def _missing_data_finding(placement: Placement) -> ParityFinding:
    classification = placement.classification
    explanation = (
        f"The {_benefit_words(placement)} is in {CLASSIFICATION_LABELS[classification].lower()}, but "
        f"the plan file has no [parity.medsurg.{classification}] projections, so its copay, "
        f"coinsurance and visit-limit tests cannot be run. Add the projected med/surg plan payments for "
        f"that classification. Needs review."
    )
    return ParityFinding(
        classification=placement.classification,
        type="medsurg_data",
        verdict="needs_review",
        rule=RULE_CLASSIFICATIONS,
        explanation=explanation,
        mhsud_category=placement.category,
        mhsud_network=placement.network,
    )


def _cumulative_findings(plan: Plan) -> list[ParityFinding]:
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


# ---- the report ------------------------------------------------------------------------------

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
    "Deductibles are tested only for being separate, not as a type of financial requirement.",
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
        return [_missing_data_finding(placement) for placement in here]
    findings: list[ParityFinding] = []
    for requirement in REQUIREMENT_TYPES:
        test = run_quantitative_test(classification, requirement, data)
        table = medsurg_table(test)
        tables.append(table)
        medsurg_words = _explain_medsurg(test)
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
            level = mhsud_level(requirement, _benefit(plan, placement))
            findings.append(
                ParityFinding(
                    verdict=quantitative_verdict(test, level),
                    explanation=f"{medsurg_words} {_explain_comparison(test, placement, level)}",
                    mhsud_category=placement.category,
                    mhsud_network=placement.network,
                    mhsud_level=level.key if level else None,
                    mhsud_level_label=level.label if level else None,
                    **common,
                )
            )
    for nqtl in ("prior_auth", "concurrent_review"):
        for placement in here:
            finding = _nqtl_finding(placement, _benefit(plan, placement), data, nqtl)
            if finding is not None:
                findings.append(finding)
    return findings


def build_parity_report(plan: Plan) -> ParityReport:
    """Every parity test of one plan (SPEC 7); raises NoParityData without a [parity] section."""
    if plan.parity is None:
        raise NoParityData(f"plan {plan.id!r} has no [parity] section to test against (see docs/parity.md)")
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
    findings.extend(_cumulative_findings(plan))
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
