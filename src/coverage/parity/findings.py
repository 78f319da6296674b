"""The parity report's structs: what `coverage parity --json` and GET /plans/{id}/parity show."""

from __future__ import annotations

from typing import Literal

from msgspec import Struct

from coverage.parity.schema import ParityClassification, RequirementType
from coverage.parity.tests import FindingType, NetworkKey, Placement, Verdict
from coverage.plans import PlanKind


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

