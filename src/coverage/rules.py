"""The rules an estimate request must meet against its plan, and how each is said.

One table for both validators: `coverage.estimate` checks a request (the API's 422, the
CLI's exit 2, a form's field message) and `coverage.batch` checks a CSV row (an error row)
with these same rules and these same words, which a differential test holds them to.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from coverage.money import format_usd


class MetLimit(NamedTuple):
    """An amount already met may not exceed the plan's limit it counts toward."""

    field: str  # the CSV column; the request field is f"{field}_cents"
    limit: str  # the NetworkAccumulators limit, without "_cents"
    what: str  # the limit in words


MET_LIMITS: tuple[MetLimit, ...] = (
    MetLimit("deductible_met", "deductible_individual", "individual deductible"),
    MetLimit("oop_met", "oop_max_individual", "individual out-of-pocket maximum"),
    MetLimit("family_deductible_met", "deductible_family", "family deductible"),
    MetLimit("family_oop_met", "oop_max_family", "family out-of-pocket maximum"),
)



class FamilyAmount(NamedTuple):
    """A family amount met includes the client's own, so it is never less than it."""

    family: str  # the CSV column; the request field is f"{family}_cents"
    own: str
    what: str  # the client's amount in words


FAMILY_AMOUNTS: tuple[FamilyAmount, ...] = (
    FamilyAmount("family_deductible_met", "deductible_met", "deductible met"),
    FamilyAmount("family_oop_met", "oop_met", "out-of-pocket met"),
)

# With an out-of-pocket maximum, oop_met must be at least deductible_met (and the family amounts too).
OOP_BELOW_DEDUCTIBLE = (
    "must be at least the deductible met: deductible payments count toward the out-of-pocket maximum"
)
FAMILY_OOP_BELOW_DEDUCTIBLE = (
    "must be at least the family deductible met: deductible payments count toward the out-of-pocket "
    "maximum"
)


# Message templates: `estimate` fills them with str.format, the batch with columns (batch.message).
OVER_LIMIT = "{met} is more than the plan's {what} {limit}"
OUTSIDE_EFFECTIVE = "{start} is outside the plan's effective period {effective_start} to {effective_end}"
FAMILY_BELOW_OWN = (
    "{family} is less than the client's {what} {own}: the family amount includes the client's own"
)


def over_limit(rule: MetLimit, met_cents: int, limit_cents: int) -> str:
    return OVER_LIMIT.format(met=format_usd(met_cents), what=rule.what, limit=format_usd(limit_cents))


def family_below_own(rule: FamilyAmount, family_cents: int, own_cents: int) -> str:
    return FAMILY_BELOW_OWN.format(family=format_usd(family_cents), what=rule.what, own=format_usd(own_cents))


def outside_effective(start: dt.date, effective_start: dt.date, effective_end: dt.date) -> str:
    return OUTSIDE_EFFECTIVE.format(start=start, effective_start=effective_start, effective_end=effective_end)


def not_one_of(allowed: tuple[str, ...]) -> str:
    return f"must be one of {', '.join(allowed)}"
