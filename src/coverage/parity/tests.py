"""MHPAEA parity tests: MH/SUD cost sharing tested against the plan's med/surg projections.

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
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Literal

from msgspec import Struct

from coverage.money import Money, Percent, format_dollars, format_usd
from coverage.parity.schema import (
    CATEGORY_KEYS,
    MedSurgClassification,
    MedSurgProjections,
    ParityClassification,
    ParityLevelValue,
    RequirementType,
)
from coverage.plans import Benefit, Plan

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
# SPEC 7: weekly therapy is an office visit; IOP and PHP are all other items and services.
DEFAULT_CLASSIFICATIONS: dict[str, ParityClassification] = {
    "mh_office": "outpatient_in_network_office",
    "mh_iop": "outpatient_in_network_all_other",
    "mh_php": "outpatient_in_network_all_other",
    "sud_office": "outpatient_in_network_office",
    "sud_iop": "outpatient_in_network_all_other",
    "sud_php": "outpatient_in_network_all_other",
}

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
    if requirement in ("copay", "deductible"):
        return RequirementLevel(
            requirement, format_dollars(value), f"{format_usd(value)} {requirement}", Decimal(value)
        )
    return RequirementLevel(requirement, str(value), f"limit of {value} visits/days a year", Decimal(-value))


def mhsud_level(
    requirement: RequirementType, benefit: Benefit, deductible_cents: int = 0
) -> RequirementLevel | None:
    """The MH/SUD benefit's level of a type; None when it carries none (a zero level is none).

    `deductible_cents` is the plan's individual deductible in the benefit's network."""
    if requirement == "deductible":
        applies = benefit.deductible_applies and deductible_cents
        return requirement_level("deductible", Money(deductible_cents)) if applies else None
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

# ---- where each MH/SUD benefit is tested -----------------------------------------------------


class Placement(Struct, frozen=True):
    """The classification one MH/SUD benefit was tested in, and where that choice came from."""

    category: str
    network: NetworkKey
    classification: ParityClassification
    source: str


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


def deductible_of(plan: Plan, placement: Placement) -> int:
    limits = plan.network_accumulators("in" if placement.network == "in_network" else "out")
    return limits.deductible_individual_cents if limits is not None else 0


def benefit_of(plan: Plan, placement: Placement) -> Benefit:
    benefit = plan.benefit(placement.category, "in" if placement.network == "in_network" else "out")
    assert benefit is not None  # placements only name benefits the plan has
    return benefit

