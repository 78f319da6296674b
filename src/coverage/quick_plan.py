"""A plan built from the four numbers most people can read off their insurance card.

The public Compare page lets a prospective client type a therapy copay, a coinsurance, a
deductible and an out-of-pocket maximum instead of picking a plan file. This module turns
those into an ordinary `LoadedPlan`, so the estimate engine prices it like any other plan,
and every value's source says it was entered on the Compare page or which rule filled it.

Rules (written into the plan's notes and sources, so the estimate shows them):
- weekly therapy costs the copay per session with the deductible waived, as most plans do
  for office-visit copays; with no copay it is deductible, then coinsurance;
- IOP and PHP program days are deductible, then coinsurance;
- the allowed amount per unit is the levels table's standard rate; in network; no prior
  authorization; the plan year starts on January 1 of the start date's year.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from coverage.errors import InputError, Problem
from coverage.levels import LEVEL_ORDER, LEVELS, Level
from coverage.money import Money, Percent, parse_money
from coverage.plans import (
    Accumulators,
    Benefit,
    Benefits,
    CategoryBenefits,
    Effective,
    LoadedPlan,
    MonthDay,
    NetworkAccumulators,
    Plan,
)

QUICK_PLAN_ID = "entered-plan"
ENTERED = "entered on the Compare page"
NOTES = (
    "Weekly therapy: the copay per session with the deductible waived (with no copay: deductible, "
    "then coinsurance). IOP and PHP: deductible, then coinsurance. Allowed amounts are standard "
    "rates; in network; no prior authorization assumed."
)


class EnteredPlan(LoadedPlan, frozen=True):
    """A LoadedPlan whose sources say which values were typed in and which a rule supplied."""

    entered: frozenset[str] = frozenset()  # plan-file key paths that hold a typed-in value

    def source_of(self, key_path: str) -> str:
        if key_path in self.entered:
            return ENTERED
        if key_path.endswith(".allowed"):
            return "standard rate per unit (levels table), assumed: the plan's own rate is not known"
        return "Compare page rule (not asked; see how the typed numbers were used)"


def _money(
    field: str, text: str, errors: list[Problem], *, blank: int | None, required: str = ""
) -> int | None:
    if not text.strip():
        if required:  # a blank the plan cannot be priced without: never silently $0
            errors.append(Problem(field, required))
        return blank
    try:
        return parse_money(text)
    except (TypeError, ValueError) as exc:
        errors.append(Problem(field, str(exc).replace("money", "the amount", 1)))
        return None


def _percent(field: str, text: str, errors: list[Problem]) -> Percent | None:
    cleaned = text.strip()
    if not cleaned:
        errors.append(Problem(field, "is required: your share after the deductible, 0 if none"))
        return None
    try:
        return Percent.parse(cleaned if cleaned.endswith("%") else cleaned + "%")
    except (TypeError, ValueError):
        errors.append(
            Problem(field, f"must be a percentage from 0 to 100, such as 20; got {text!r}")
        )
        return None


def quick_plan(
    *, copay: str, coinsurance: str, deductible: str, oop_max: str, start_date: dt.date
) -> EnteredPlan:
    """The plan the typed numbers describe (dollars as text, coinsurance as "20" or "20%").

    Deductible and coinsurance are required (a blank must never price care as free; 0 is an
    answer); a blank copay means therapy is deductible then coinsurance, and a blank
    out-of-pocket maximum means the plan has none: the page says both in words.
    Raises InputError naming each field that cannot be used.
    """
    errors: list[Problem] = []
    copay_cents = _money("copay", copay, errors, blank=0)
    share = _percent("coinsurance", coinsurance, errors)
    deductible_cents = _money(
        "deductible", deductible, errors, blank=None, required="is required: 0 if the plan has none"
    )
    oop_cents = _money("oop_max", oop_max, errors, blank=None)
    if oop_cents is not None and deductible_cents is not None and oop_cents < deductible_cents:
        errors.append(
            Problem("oop_max", "must be at least the deductible (or left blank: no maximum)")
        )
    if errors or copay_cents is None or share is None or deductible_cents is None:
        raise InputError(errors)

    no_share = Percent(Decimal(0))

    def benefit(level: Level) -> CategoryBenefits:
        allowed = Money(LEVELS[level].default_self_pay_cents)
        if level == "op" and copay_cents:
            terms = Benefit(allowed, no_share, deductible_applies=False, copay_cents=Money(copay_cents))
        else:
            terms = Benefit(allowed, share, deductible_applies=True)
        return CategoryBenefits(in_network=terms)

    office, iop, php = (benefit(level) for level in LEVEL_ORDER)
    entered = {"accumulators.in_network.deductible_individual", "accumulators.in_network.oop_max_individual"}
    for category in ("mh", "sud"):
        entered |= {f"benefits.{category}_{key}.in_network.coinsurance" for key in ("iop", "php")}
        entered.add(f"benefits.{category}_office.in_network." + ("copay" if copay_cents else "coinsurance"))
    plan = Plan(
        id=QUICK_PLAN_ID,
        name="Plan entered on the Compare page",
        payer="(entered by you)",
        kind="commercial",
        plan_year_start=MonthDay(1, 1),
        effective=Effective(dt.date(start_date.year, 1, 1), dt.date(start_date.year, 12, 31)),
        accumulators=Accumulators(
            in_network=NetworkAccumulators(
                deductible_individual_cents=Money(deductible_cents),
                oop_max_individual_cents=None if oop_cents is None else Money(oop_cents),
            )
        ),
        benefits=Benefits(
            mh_office=office, mh_iop=iop, mh_php=php, sud_office=office, sud_iop=iop, sud_php=php
        ),
        notes=NOTES,
    )
    return EnteredPlan(plan=plan, file="Compare page", present_keys=frozenset(), entered=frozenset(entered))
