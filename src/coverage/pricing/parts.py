"""The cost parts: the one declaration of what a priced unit is made of, with its label.

Every table reads it: the priced unit and the month / total breakdowns (`<name>_cents`
fields), the batch CSV columns (`<name>`, in dollars), the CLI and page tables (the labels)
and the tests. A new part is one line here.
"""

from __future__ import annotations

from typing import NamedTuple

import msgspec


class CostPart(NamedTuple):
    name: str  # the batch CSV column; `<name>_cents` on structs
    label: str  # how tables and pages say it
    client_pays: bool  # part of what the client pays (member_cost); else a provider-side figure


# In the order the cost-sharing rules take them (SPEC 4), then the provider-side figures.
COST_PARTS: tuple[CostPart, ...] = (
    CostPart("deductible", "deductible", True),
    CostPart("copay", "copays", True),
    CostPart("coinsurance", "coinsurance", True),
    CostPart("penalty", "no-authorization penalty", True),
    CostPart("balance_bill", "balance bill", True),
    CostPart("not_covered", "not covered (self-pay)", True),
    CostPart("provider_absorbs", "provider absorbs (denied in network)", False),
    CostPart("denied_exposure", "if a denial were billed at the self-pay rate", False),
)
CLIENT_PARTS: tuple[CostPart, ...] = tuple(part for part in COST_PARTS if part.client_pays)
PROVIDER_PARTS: tuple[CostPart, ...] = tuple(part for part in COST_PARTS if not part.client_pays)

ALLOWED = CostPart("allowed", "allowed amount", False)
MEMBER_COST = CostPart("member_cost", "total client cost", True)  # the sum of CLIENT_PARTS
PLAN_PAID = CostPart("plan_paid", "plan pays", False)  # allowed - the cost share - penalty

# Every amount a breakdown carries, in output order (the batch CSV's money columns).
AMOUNTS: tuple[CostPart, ...] = (ALLOWED, MEMBER_COST, *CLIENT_PARTS, PLAN_PAID, *PROVIDER_PARTS)
AMOUNT_NAMES: tuple[str, ...] = tuple(part.name for part in AMOUNTS)


def cents_fields(parts: tuple[CostPart, ...]) -> list[tuple[str, type, int]]:
    """msgspec field specs `<name>_cents: int = 0` for `defstruct`."""
    return [(f"{part.name}_cents", int, 0) for part in parts]


# A unit's own amounts: what it costs the client comes from its parts (PricedUnit.member_cost_cents).
UnitAmounts = msgspec.defstruct(
    "UnitAmounts",
    cents_fields((ALLOWED, *CLIENT_PARTS, PLAN_PAID, *PROVIDER_PARTS)),
    kw_only=True,
    frozen=True,
    module=__name__,
)
# A sum of units: a month, a level's weeks or a scenario's totals.
BreakdownAmounts = msgspec.defstruct(
    "BreakdownAmounts", [("units", int, 0), *cents_fields(AMOUNTS)], kw_only=True, module=__name__
)
