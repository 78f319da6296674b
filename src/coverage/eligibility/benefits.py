"""The mapped 271 as pure data: what the payer stated per category, level and network.

This is what a verification record stores and what an estimate reads; nothing here does I/O.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from msgspec import Struct

from coverage.levels import Category, Level, Network

Outcome = Literal["verified", "inactive", "rejected", "unavailable", "invalid_response", "not_configured"]
# How a verification's fields are named for people (tables, notes).
FIELD_LABELS: dict[str, str] = {
    "active": "coverage status",
    "copay_cents": "copay",
    "coinsurance": "coinsurance",
    "deductible_individual": "individual deductible",
    "deductible_family": "family deductible",
    "oop_individual": "individual out-of-pocket maximum",
    "oop_family": "family out-of-pocket maximum",
    "visit_limit": "visit limit",
    "visits_remaining": "visits remaining",
    "prior_auth": "prior authorization",
}
COST_FIELDS = frozenset(
    {
        "copay_cents",
        "coinsurance",
        "deductible_individual",
        "deductible_family",
        "oop_individual",
        "oop_family",
    }
)

class Accumulator(Struct, frozen=True):
    """A deductible or out-of-pocket limit as the payer stated it, in cents."""

    total_cents: int | None = None
    remaining_cents: int | None = None
    year_to_date_cents: int | None = None
    met_cents: int | None = None  # total - remaining, else the payer's year-to-date figure
    period: str | None = None  # "calendar year" or "service year" (of the total)


class LevelBenefits(Struct, frozen=True):
    """What the payer said for one category, level of care and network; None = not stated."""

    category: Category
    level: Level
    network: Network
    active: bool | None = None
    copay_cents: int | None = None
    coinsurance: Decimal | None = None  # the member's share as a fraction: 0.2 is 20%
    deductible_individual: Accumulator | None = None
    deductible_family: Accumulator | None = None
    oop_individual: Accumulator | None = None
    oop_family: Accumulator | None = None
    visit_limit: int | None = None  # units per plan year
    visits_remaining: int | None = None
    prior_auth: bool | None = None
    sources: dict[str, str] = {}  # field name -> service type code(s) and network it came from


class VerifiedBenefits(Struct, frozen=True):
    """The mapped 271: one LevelBenefits per category x level x network, plus plan facts."""

    payer_name: str | None
    plan_coverage: str | None
    active: bool | None
    coverage_start: dt.date | None
    coverage_end: dt.date | None
    levels: list[LevelBenefits]
    notes: list[str]

    def level(self, category: Category, level: Level, network: Network) -> LevelBenefits:
        for benefits in self.levels:
            if (benefits.category, benefits.level, benefits.network) == (category, level, network):
                return benefits
        raise KeyError((category, level, network))


class PayerRejection(Struct, frozen=True):
    """One AAA reject reason (or clearinghouse error) from the response's `errors`."""

    code: str | None
    description: str | None
    followup_action: str | None = None
    location: str | None = None


class VerificationResult(Struct, frozen=True):
    """Everything one verification produced; the verification store keeps all of it."""

    outcome: Outcome
    message: str
    control_number: str | None = None
    trace_number: str | None = None
    http_status: int | None = None
    attempts: int = 0
    raw_response: str | None = None
    benefits: VerifiedBenefits | None = None
    rejections: list[PayerRejection] = []

