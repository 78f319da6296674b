"""The pricing engine: service units priced one at a time, in date order (SPEC 4 and 5).

This scalar engine is the reference (oracle): the batch engine must match it to the cent.
Each step of the cost-sharing order is a small named formula so a reader can check it
against the spec line by line.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

import msgspec

from coverage.levels import Level, Network
from coverage.money import Percent
from coverage.plans import Benefit, NetworkAccumulators
from coverage.pricing.parts import CLIENT_PARTS, UnitAmounts
from coverage.pricing.terms import CostTerms, StartingAccumulators
from coverage.schedule import ScheduledUnit

AuthStatus = Literal["approved", "initial_only", "none"]
# Priced statuses first (the batch engine codes them in this order; see batch_kernel.STATUS_CODES).
UnitStatus = Literal["covered", "penalty_no_auth", "denied_no_auth", "over_visit_limit", "not_covered"]
AuthState = Literal["not_required", "initial", "pending_review"]


class PricedUnit(UnitAmounts, kw_only=True, frozen=True):  # type: ignore[misc, valid-type]
    """One unit's price, split into the cost parts (coverage.pricing.parts)."""

    date: dt.date
    level: Level
    status: UnitStatus
    auth: AuthState
    plan_year: dt.date
    deductible_met_after_cents: int = 0
    oop_met_after_cents: int = 0
    family_deductible_met_after_cents: int = 0
    family_oop_met_after_cents: int = 0

    @property
    def member_cost_cents(self) -> int:
        return sum(getattr(self, f"{part.name}_cents") for part in CLIENT_PARTS)


def _remaining(limit: int | None, met: int) -> int | None:
    return None if limit is None else max(0, limit - met)


def _tightest(individual: int | None, family: int | None) -> int | None:
    if individual is None:
        return family
    return individual if family is None else min(individual, family)


@dataclass(slots=True)
class AccumulatorState:
    """Deductible, out-of-pocket and visit counts for one plan year (individual and family)."""

    plan_year: dt.date
    deductible_met_cents: int = 0
    family_deductible_met_cents: int = 0
    oop_met_cents: int = 0
    family_oop_met_cents: int = 0
    visits_used: Counter[Level] = field(default_factory=Counter)
    visits_allowed: dict[Level, int] = field(default_factory=dict)  # overrides the plan's limit

    @classmethod
    def starting(cls, plan_year: dt.date, start: StartingAccumulators) -> AccumulatorState:
        family_deductible = start.family_deductible_met_cents
        family_oop = start.family_oop_met_cents
        return cls(
            plan_year=plan_year,
            deductible_met_cents=start.deductible_met_cents,
            family_deductible_met_cents=(
                start.deductible_met_cents if family_deductible is None else family_deductible
            ),
            oop_met_cents=start.oop_met_cents,
            family_oop_met_cents=start.oop_met_cents if family_oop is None else family_oop,
            visits_allowed=dict(start.visits_remaining),
        )

    def over_visit_limit(self, level: Level, benefit: Benefit) -> bool:
        """Whether this plan year's visits for the level are used up (payer's count, else the plan's)."""
        limit = self.visits_allowed.get(level, benefit.visit_limit or None)
        return limit is not None and self.visits_used[level] >= limit

    def deductible_remaining(self, limits: NetworkAccumulators) -> int:
        remaining = _tightest(
            _remaining(limits.deductible_individual_cents, self.deductible_met_cents),
            _remaining(limits.deductible_family_cents, self.family_deductible_met_cents),
        )
        assert remaining is not None  # the individual deductible is always set
        return remaining

    def oop_remaining(self, limits: NetworkAccumulators) -> int | None:
        """None when the plan has no out-of-pocket maximum (e.g. Original Medicare)."""
        return _tightest(
            _remaining(limits.oop_max_individual_cents, self.oop_met_cents),
            _remaining(limits.oop_max_family_cents, self.family_oop_met_cents),
        )

    def accrue(self, deductible_cents: int, share_cents: int) -> None:
        self.deductible_met_cents += deductible_cents
        self.family_deductible_met_cents += deductible_cents
        self.oop_met_cents += share_cents
        self.family_oop_met_cents += share_cents


# --- the cost-sharing order, one small formula per step (SPEC 4) -------------------------


def deductible_portion(benefit: Benefit, allowed_cents: int, deductible_remaining_cents: int) -> int:
    """Step 2: the deductible takes the unit's allowed amount first, up to what remains."""
    return min(allowed_cents, deductible_remaining_cents) if benefit.deductible_applies else 0


def copay_portion(benefit: Benefit, after_deductible_cents: int) -> int:
    """Step 3: the copay applies to what the deductible left, never more than that."""
    return min(benefit.copay_cents, after_deductible_cents)


def coinsurance_portion(benefit: Benefit, after_copay_cents: int) -> int:
    """Step 4: coinsurance on the rest, rounded half-up to the cent once per unit."""
    return benefit.coinsurance.of(after_copay_cents)


def per_unit_capped(after_deductible_cents: int, per_unit_cap_cents: int | None) -> int:
    """Step 7: a per-unit cap limits the copay and coinsurance of one unit, not its deductible.

    Medicare's OPPS per-day cap (Social Security Act 1833(t)(8)(C), 42 CFR 419.41) limits the
    copayment for a day to the Part A inpatient deductible; the Part B deductible is owed on top.
    """
    return (
        after_deductible_cents
        if per_unit_cap_cents is None
        else min(after_deductible_cents, per_unit_cap_cents)
    )


def capped_share(share_cents: int, oop_remaining_cents: int | None) -> int:
    """Step 5: the client's share stops at the out-of-pocket maximum remaining."""
    return share_cents if oop_remaining_cents is None else min(share_cents, oop_remaining_cents)


def split_share(share_cents: int, deductible_cents: int, copay_cents: int) -> tuple[int, int, int]:
    """A capped share is cut from coinsurance first, then copay; the deductible part goes last."""
    deductible_kept = min(deductible_cents, share_cents)
    copay_kept = min(copay_cents, share_cents - deductible_kept)
    return deductible_kept, copay_kept, share_cents - deductible_kept - copay_kept


def balance_bill(benefit: Benefit, network: Network) -> int:
    """Step 6: out of network the provider may bill the client for charges above allowed."""
    if network != "out" or benefit.billed_cents is None:
        return 0
    return max(0, benefit.billed_cents - benefit.allowed_cents)


def priced_amounts(
    benefit: Benefit,
    network: Network,
    share: int,
    deductible: int,
    copay: int,
    coinsurance: int,
    penalty_rate: Percent | None,
) -> dict[str, int]:
    """A priced unit's amounts, its share already split."""
    penalty, plan_paid = plan_payment(benefit, share, penalty_rate)
    return {
        "allowed_cents": benefit.allowed_cents,
        "deductible_cents": deductible,
        "copay_cents": copay,
        "coinsurance_cents": coinsurance,
        "penalty_cents": penalty,
        "balance_bill_cents": balance_bill(benefit, network),
        "plan_paid_cents": plan_paid,
    }


def plan_payment(benefit: Benefit, share: int, penalty_rate: Percent | None) -> tuple[int, int]:
    """Step 8: the no-auth penalty, N% of what the plan would pay, and what the plan pays: the
    allowed amount less the client's share and that penalty."""
    plan_paid = benefit.allowed_cents - share
    penalty = penalty_rate.of(plan_paid) if penalty_rate is not None else 0
    return penalty, plan_paid - penalty


# --- authorization -------------------------------------------------------------------------


def auth_state(benefit: Benefit, unit_number_in_episode: int) -> AuthState:
    """Units up to the initial authorization are assumed authorized; later ones await review."""
    if not benefit.prior_auth:
        return "not_required"
    return "initial" if unit_number_in_episode <= benefit.auth_initial_units else "pending_review"


def lacks_authorization(auth: AuthState, auth_status: AuthStatus) -> bool:
    """Whether the no-auth policy applies to a unit, given what the request assumes was obtained."""
    if auth == "not_required":
        return False
    return auth_status == "none" or (auth_status == "initial_only" and auth == "pending_review")


# --- pricing -------------------------------------------------------------------------------


def price_units(
    units: list[ScheduledUnit],
    terms: CostTerms,
    start_date: dt.date,
    start: StartingAccumulators,
    auth_status: AuthStatus = "approved",
) -> list[PricedUnit]:
    """Price a schedule's units in date order, carrying accumulators across units."""
    state = AccumulatorState.starting(terms.plan_year_start.plan_year_of(start_date), start)
    units_in_episode: Counter[int] = Counter()
    priced: list[PricedUnit] = []
    for unit in units:
        unit_terms = terms.on(unit.date)  # a successor starts on a plan-year start (plans.renewal_error)
        plan_year = unit_terms.plan_year_start.plan_year_of(unit.date)
        if plan_year != state.plan_year:
            state = AccumulatorState(plan_year=plan_year)
        units_in_episode[unit.episode_index] += 1
        priced_unit = _price_one(unit, units_in_episode[unit.episode_index], unit_terms, state, auth_status)
        priced.append(
            msgspec.structs.replace(
                priced_unit,
                deductible_met_after_cents=state.deductible_met_cents,
                oop_met_after_cents=state.oop_met_cents,
                family_deductible_met_after_cents=state.family_deductible_met_cents,
                family_oop_met_after_cents=state.family_oop_met_cents,
            )
        )
    return priced


def _price_one(
    unit: ScheduledUnit,
    unit_number_in_episode: int,
    terms: CostTerms,
    state: AccumulatorState,
    auth_status: AuthStatus,
) -> PricedUnit:
    benefit = terms.benefits.get(unit.level)
    limits = terms.limits
    common = {"date": unit.date, "level": unit.level, "plan_year": state.plan_year}
    if benefit is None or limits is None:
        return PricedUnit(
            **common,
            status="not_covered",
            auth="not_required",
            not_covered_cents=terms.self_pay_cents[unit.level],
        )
    auth = auth_state(benefit, unit_number_in_episode)
    if state.over_visit_limit(unit.level, benefit):
        return PricedUnit(
            **common, status="over_visit_limit", auth=auth, not_covered_cents=benefit.self_pay_cents
        )
    unauthorized = lacks_authorization(auth, auth_status)
    assert not unauthorized or benefit.no_auth is not None  # plan validation guarantees a policy
    if unauthorized and benefit.no_auth.denies:  # type: ignore[union-attr]
        in_network = terms.network == "in"
        return PricedUnit(
            **common,
            status="denied_no_auth",
            auth=auth,
            not_covered_cents=0 if in_network else benefit.self_pay_cents,
            provider_absorbs_cents=benefit.allowed_cents if in_network else 0,
            denied_exposure_cents=benefit.self_pay_cents if in_network else 0,
        )
    state.visits_used[unit.level] += 1
    allowed = benefit.allowed_cents
    deductible = deductible_portion(benefit, allowed, state.deductible_remaining(limits))
    copay = copay_portion(benefit, allowed - deductible)
    coinsurance = coinsurance_portion(benefit, allowed - deductible - copay)
    share = capped_share(
        deductible + per_unit_capped(copay + coinsurance, benefit.per_unit_member_cap_cents),
        state.oop_remaining(limits),
    )
    deductible, copay, coinsurance = split_share(share, deductible, copay)
    state.accrue(deductible, share)
    penalty_rate = benefit.no_auth.penalty if unauthorized else None  # type: ignore[union-attr]
    return PricedUnit(
        **common,
        status="penalty_no_auth" if unauthorized else "covered",
        auth=auth,
        **priced_amounts(benefit, terms.network, share, deductible, copay, coinsurance, penalty_rate),
    )
