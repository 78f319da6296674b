"""The plan file's [parity] section: med/surg projections for the MHPAEA parity report.

SPEC 7 and docs/parity.md. The tests are `coverage.parity.tests`; this module holds the file
shape and its validation, which plan loading calls through `parity_errors`.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

from msgspec import Struct, field

from coverage.money import Money, Percent, format_dollars, parse_money

CATEGORY_KEYS = ("mh_office", "mh_iop", "mh_php", "sud_office", "sud_iop", "sud_php")

ParityClassification = Literal[
    "inpatient_in_network",
    "inpatient_out_of_network",
    "outpatient_in_network",
    "outpatient_in_network_office",
    "outpatient_in_network_all_other",
    "outpatient_out_of_network",
    "outpatient_out_of_network_office",
    "outpatient_out_of_network_all_other",
    "emergency",
    "prescription_drugs",
]
PARITY_CLASSIFICATIONS: tuple[ParityClassification, ...] = get_args(ParityClassification)
RequirementType = Literal["copay", "coinsurance", "visit_limit", "deductible"]
REQUIREMENT_TYPES: tuple[RequirementType, ...] = ("copay", "coinsurance", "visit_limit", "deductible")
ParityLevelValue = Money | Percent | int


def _parse_visit_limit_level(text: object) -> int:
    if not isinstance(text, str) or not re.fullmatch(r"[1-9][0-9]{0,5}", text.strip()):
        raise ValueError(f'a visit or day limit must be a whole number such as "30", got {text!r}')
    return int(text)


def parse_parity_level(requirement: RequirementType, text: str) -> ParityLevelValue:
    """A level key of a [parity.medsurg] table: "10.00" (copay), "20%" (coinsurance), "30" (visits).

    A zero level is refused: the rule counts benefits at a zero level as not subject to the
    type at all (29 CFR 2590.712(c)(3)(i)(A)), so those payments belong in no level table.
    """
    if requirement == "visit_limit":
        return _parse_visit_limit_level(text)
    value = parse_money(text) if requirement in ("copay", "deductible") else Percent.parse(text)
    if (value.fraction if isinstance(value, Percent) else value) == 0:
        raise ValueError(
            f"a zero {requirement} level counts as not subject to {requirement} at all "
            "(29 CFR 2590.712(c)(3)(i)(A)): leave those payments out of this table"
        )
    return value


class MedSurgClassification(Struct, forbid_unknown_fields=True, frozen=True):
    """Projected med/surg plan payments for the plan year in one classification, by type and level.

    Each level table maps a level ("10.00", "20%", "30") to the projected payments subject to
    it; payments not listed under a type are not subject to that type. The NQTL flags say
    whether med/surg services in the classification use prior authorization or concurrent review.
    """

    total_cents: Money = field(name="total")
    copay: dict[str, Money] = {}
    coinsurance: dict[str, Money] = {}
    visit_limit: dict[str, Money] = {}
    # A deductible is a financial requirement too (29 CFR 2590.712(a), (c)(3)(i)): the level is the
    # deductible amount ("1500.00"). None: not projected, so the test cannot run (needs review).
    deductible: dict[str, Money] | None = None
    prior_auth: bool = False
    concurrent_review: bool = False

    def levels(self, requirement: RequirementType) -> list[tuple[ParityLevelValue, Money]]:
        """(level, projected payments) pairs of one type; call only on a validated plan."""
        table: dict[str, Money] = getattr(self, requirement) or {}
        return [(parse_parity_level(requirement, text), payments) for text, payments in table.items()]


class MedSurgProjections(Struct, forbid_unknown_fields=True, frozen=True):
    """One optional table per classification; outpatient may be split into office / all other."""

    inpatient_in_network: MedSurgClassification | None = None
    inpatient_out_of_network: MedSurgClassification | None = None
    outpatient_in_network: MedSurgClassification | None = None
    outpatient_in_network_office: MedSurgClassification | None = None
    outpatient_in_network_all_other: MedSurgClassification | None = None
    outpatient_out_of_network: MedSurgClassification | None = None
    outpatient_out_of_network_office: MedSurgClassification | None = None
    outpatient_out_of_network_all_other: MedSurgClassification | None = None
    emergency: MedSurgClassification | None = None
    prescription_drugs: MedSurgClassification | None = None

    def get(self, classification: ParityClassification) -> MedSurgClassification | None:
        return getattr(self, classification)

    def is_split(self, network_key: str) -> bool:
        """Whether outpatient care in this network is split into office visits / all other."""
        return self.get(f"outpatient_{network_key}_office") is not None  # type: ignore[arg-type]


class MhsudClassification(Struct, forbid_unknown_fields=True, frozen=True):
    """Overrides of the default classification of each MH/SUD category (None: the default).

    The value names the in-network (or network-free) classification; the category's
    out-of-network benefit goes to the matching out-of-network classification.
    """

    mh_office: ParityClassification | None = None
    mh_iop: ParityClassification | None = None
    mh_php: ParityClassification | None = None
    sud_office: ParityClassification | None = None
    sud_iop: ParityClassification | None = None
    sud_php: ParityClassification | None = None


class Parity(Struct, forbid_unknown_fields=True, frozen=True):
    """The plan's [parity] section: what the parity report compares MH/SUD benefits against."""

    medsurg: MedSurgProjections
    mhsud_classification: MhsudClassification = MhsudClassification()
    separate_mhsud_deductible: bool = False  # true: MH/SUD has its own deductible (a parity failure)
    separate_mhsud_oop_max: bool = False  # true: MH/SUD has its own out-of-pocket maximum


def parity_errors(parity: Parity) -> list[tuple[str, str, str | None]]:
    """(key path, message, value) of every problem: level keys, level sums against `total`, the
    outpatient split and the category overrides."""
    errors: list[tuple[str, str, str | None]] = []

    def error(path: str, message: str, value: str | None = None) -> None:
        errors.append((path, message, value))
    for classification in PARITY_CLASSIFICATIONS:
        data = parity.medsurg.get(classification)
        if data is None:
            continue
        prefix = f"parity.medsurg.{classification}"
        if data.total_cents == 0:
            error(f"{prefix}.total", "must be more than 0.00", '"0.00"')
        for requirement in REQUIREMENT_TYPES:
            table: dict[str, Money] = getattr(data, requirement) or {}
            seen: dict[ParityLevelValue, str] = {}
            for text in table:
                path = f'{prefix}.{requirement}."{text}"'
                try:
                    level = parse_parity_level(requirement, text)
                except (TypeError, ValueError) as exc:
                    error(path, f"is not a {requirement} level: {exc}", repr(text))
                    continue
                if level in seen:
                    error(path, f'is the same level as "{seen[level]}"', repr(text))
                if table[text] == 0:
                    error(path, "has no projected payments: leave the level out", '"0.00"')
                seen[level] = text
            subject = sum(table.values())
            if subject > data.total_cents:
                error(
                    f"{prefix}.{requirement}",
                    "levels sum to more than total (no type applies to more than all payments)",
                    f"sum {format_dollars(subject)} > total {format_dollars(data.total_cents)}",
                )
    for network_key in ("in_network", "out_of_network"):
        whole: ParityClassification = f"outpatient_{network_key}"  # type: ignore[assignment]
        parts: list[ParityClassification] = [f"{whole}_office", f"{whole}_all_other"]  # type: ignore[list-item]
        present = [part for part in parts if parity.medsurg.get(part) is not None]
        if present and parity.medsurg.get(whole) is not None:
            error(f"parity.medsurg.{present[0]}", f"cannot be used together with [parity.medsurg.{whole}]")
        if len(present) == 1:
            missing = parts[1] if present[0] == parts[0] else parts[0]
            error(
                f"parity.medsurg.{missing}",
                f"is missing: the split needs it next to [parity.medsurg.{present[0]}]",
            )
    for category_key in CATEGORY_KEYS:
        chosen: ParityClassification | None = getattr(parity.mhsud_classification, category_key)
        path = f"parity.mhsud_classification.{category_key}"
        if chosen is not None and "out_of_network" in chosen:
            error(
                path,
                "name the in-network classification; the out-of-network benefit follows it",
                repr(chosen),
            )
        elif chosen == "outpatient_in_network" and parity.medsurg.is_split("in_network"):
            error(path, "[parity.medsurg] splits this into _office and _all_other: name one", repr(chosen))
    return errors

