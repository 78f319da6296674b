"""A verification merged into an estimate's cost terms.

`terms.build_terms` reads the plan file; a stored verification record then
overrides what the payer actually stated for the member: copay, coinsurance, deductible
and out-of-pocket limits, the visit limit, prior authorization and non-coverage. Each
overridden value's source becomes "verification #ID (date): <service type code, network>"
so the estimate shows where every number came from. What the payer did not state keeps its
plan-file value and source; nothing is guessed to fill a gap.

The amounts already met are derived separately (`verified_met`): total minus remaining as
of the verification day, used only when that day falls in the same plan year as the
estimate's start date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import msgspec
from msgspec import Struct

from coverage.eligibility.benefits import Accumulator, LevelBenefits, VerifiedBenefits
from coverage.eligibility.record import VerificationRecord
from coverage.errors import InputError
from coverage.levels import CATEGORY_LABELS, LEVEL_ORDER, NETWORK_LABELS, Level, category_key
from coverage.money import Money, Percent, format_usd
from coverage.plans import Benefit, NetworkAccumulators
from coverage.pricing.terms import CostTerms, SourcedValue

# NetworkAccumulators attribute -> (LevelBenefits accumulator, the name build_terms sources it by)
_LIMITS = (
    ("deductible_individual_cents", "deductible_individual", "deductible_individual"),
    ("deductible_family_cents", "deductible_family", "deductible_family"),
    ("oop_max_individual_cents", "oop_individual", "oop_max_individual"),
    ("oop_max_family_cents", "oop_family", "oop_max_family"),
)


def verification_label(verification_id: int, verified_on: dt.date) -> str:
    return f"verification #{verification_id} ({verified_on.isoformat()})"


def usable_verification(
    record: VerificationRecord | None, verification_id: int, plan_id: str | None
) -> VerifiedBenefits:
    """The benefits of a stored verification an estimate may use; else a 4xx-style error.
    `plan_id` None: an estimate at the program's rates, which any verified plan may feed."""
    if record is None or record.id != verification_id:
        raise InputError.at("verification_id", f"no verification #{verification_id} is stored")
    if record.outcome not in ("verified", "inactive") or record.benefits is None:
        raise InputError.at(
            "verification_id", f"verification #{verification_id} did not verify benefits: {record.message}"
        )
    if plan_id is not None and record.plan_id is not None and record.plan_id != plan_id:
        raise InputError.at(
            "verification_id",
            f"verification #{verification_id} was for plan {record.plan_id!r}, not {plan_id!r}",
        )
    return record.benefits


def inactive_terms(terms: CostTerms, verification_id: int, verified_on: dt.date) -> CostTerms:
    """Terms for coverage the payer reports inactive: nothing is covered, every unit is self-pay
    (the plan file's billed charge, else its allowed amount, else the default self-pay rate)."""
    label = verification_label(verification_id, verified_on)
    sources = dict(terms.sources)
    self_pay: dict[Level, int] = {}
    for level in LEVEL_ORDER:
        benefit = terms.benefits[level]
        self_pay[level] = terms.self_pay_cents[level] if benefit is None else benefit.self_pay_cents
        name = f"{category_key(terms.category, level)}.self_pay"
        sources[name] = SourcedValue(
            name, format_usd(self_pay[level]), f"{label}: coverage inactive, priced at the self-pay rate"
        )
    return msgspec.structs.replace(  # no renewal either: nothing says the next plan year is active
        terms,
        benefits=dict.fromkeys(LEVEL_ORDER),
        limits=None,
        self_pay_cents=self_pay,
        sources=sources,
        renewal=None,
    )


def agreed(values: list[int | None]) -> int | None:
    """One value stated the same way for every level that states it; otherwise None."""
    stated = {value for value in values if value is not None}
    return stated.pop() if len(stated) == 1 else None


def _category_levels(terms: CostTerms, verified: VerifiedBenefits) -> list[LevelBenefits]:
    return [verified.level(terms.category, level, terms.network) for level in LEVEL_ORDER]


def apply_verification(
    terms: CostTerms, verified: VerifiedBenefits, verification_id: int, verified_on: dt.date
) -> CostTerms:
    """The terms with every value the payer stated for this category and network applied."""
    label = verification_label(verification_id, verified_on)
    sources = dict(terms.sources)

    def cite(name: str, value: str, detail: str) -> None:
        sources[name] = SourcedValue(name, value, f"{label}: {detail}")

    benefits = dict(terms.benefits)
    by_level = dict(zip(LEVEL_ORDER, _category_levels(terms, verified), strict=True))
    for level, stated in by_level.items():
        benefits[level] = _apply_level(level, terms, stated, cite)

    limits = terms.limits
    if limits is not None:
        changes: dict[str, Money] = {}
        for attribute, field, name in _LIMITS:
            accumulators: list[Accumulator | None] = [getattr(stated, field) for stated in by_level.values()]
            total = agreed([accumulator.total_cents if accumulator else None for accumulator in accumulators])
            if total is None:
                continue
            changes[attribute] = Money(total)
            detail = next(  # the level whose total it is: another may state only what remains
                stated.sources[field]
                for stated in by_level.values()
                if (accumulator := getattr(stated, field)) and accumulator.total_cents == total
            )
            cite(name, format_usd(total), detail)
        if changes:
            limits = msgspec.structs.replace(limits, **changes)
    return msgspec.structs.replace(terms, benefits=benefits, limits=limits, sources=sources)


def _apply_level(
    level: Level, terms: CostTerms, stated: LevelBenefits, cite: Callable[[str, str, str], None]
) -> Benefit | None:
    key = category_key(terms.category, level)
    benefit = terms.benefits[level]
    if stated.active is False:
        cite(
            f"{key}.self_pay", format_usd(terms.self_pay_cents[level]), "the payer states this is not covered"
        )
        return None
    if benefit is None:
        stated_costs = [
            field for field in ("copay_cents", "coinsurance") if getattr(stated, field) is not None
        ]
        if stated_costs:
            cite(
                f"{key}.verification",
                "not applied",
                "the payer states cost sharing here, but the plan file has no allowed amount for this "
                "level, so it is priced at the self-pay rate",
            )
        return None
    changes: dict[str, object] = {}
    if stated.copay_cents is not None:
        changes["copay_cents"] = Money(stated.copay_cents)
        cite(f"{key}.copay", format_usd(stated.copay_cents), stated.sources["copay_cents"])
    if stated.coinsurance is not None:
        coinsurance = Percent(stated.coinsurance)
        changes["coinsurance"] = coinsurance
        cite(f"{key}.coinsurance", str(coinsurance), stated.sources["coinsurance"])
    if stated.visit_limit is not None:
        changes["visit_limit"] = stated.visit_limit
        remaining = (
            f"; {stated.visits_remaining} remaining when verified (applied to this plan year)"
            if stated.visits_remaining is not None
            else ""
        )
        cite(
            f"{key}.visit_limit", str(stated.visit_limit or "none"), stated.sources["visit_limit"] + remaining
        )
    if stated.prior_auth is False:
        if benefit.prior_auth:
            changes["prior_auth"] = False
        cite(f"{key}.prior_auth", "false", stated.sources["prior_auth"])
    elif stated.prior_auth is True and benefit.prior_auth:
        cite(
            f"{key}.prior_auth",
            "true",
            stated.sources["prior_auth"] + "; review units and no-auth policy from the plan file",
        )
    elif stated.prior_auth is True:
        cite(
            f"{key}.prior_auth",
            "false",
            stated.sources["prior_auth"] + " says prior authorization IS required, but the plan file has no "
            "authorization terms (initial units, no-auth policy) to price it with: not applied",
        )
    return msgspec.structs.replace(benefit, **changes) if changes else benefit


class VerifiedMet(Struct, frozen=True):
    """Amounts already met per the payer (total - remaining), with their sources."""

    deductible_met_cents: int | None = None
    oop_met_cents: int | None = None
    family_deductible_met_cents: int | None = None
    family_oop_met_cents: int | None = None
    visits_remaining: dict[Level, int] = {}
    sources: list[SourcedValue] = []
    notes: list[str] = []


def verified_met(
    terms: CostTerms,
    verified: VerifiedBenefits,
    verification_id: int,
    verified_on: dt.date,
    start_date: dt.date,
) -> VerifiedMet:
    """Met amounts for the estimate's start, from merged `terms` (after apply_verification).

    met = total - remaining; when the payer gave only what remains, the total is the merged
    limit (plan file or verified). Values from another plan year than `start_date`'s do not
    describe its accumulators (they reset on the plan-year start), so they are not used.
    """
    label = verification_label(verification_id, verified_on)
    verified_year = terms.plan_year_start.plan_year_of(verified_on)
    start_year = terms.plan_year_start.plan_year_of(start_date)
    if verified_year != start_year:
        when = "an earlier" if verified_year < start_year else "a later"
        return VerifiedMet(
            notes=[
                f"{label} is from {when} plan year than {start_date}; its met amounts and visits "
                "remaining are not used"
            ]
        )
    limits: NetworkAccumulators | None = terms.limits
    levels = _category_levels(terms, verified)
    values: dict[str, int] = {}
    sources: list[SourcedValue] = []
    for (attribute, field, _), met_field in zip(
        _LIMITS,
        ("deductible_met_cents", "family_deductible_met_cents", "oop_met_cents", "family_oop_met_cents"),
        strict=True,
    ):
        stated: list[Accumulator] = [getattr(level, field) for level in levels if getattr(level, field)]
        met = agreed([accumulator.met_cents for accumulator in stated])
        if met is not None:
            sample = next(accumulator for accumulator in stated if accumulator.met_cents == met)
            how = (
                "total minus remaining" if sample.remaining_cents is not None else "the payer's year-to-date"
            )
        else:
            remaining = agreed([accumulator.remaining_cents for accumulator in stated])
            limit = getattr(limits, attribute) if limits is not None else None
            if remaining is None or limit is None or remaining > limit:
                continue
            met = limit - remaining
            how = f"the limit {format_usd(limit)} minus the payer's remaining {format_usd(remaining)}"
        values[met_field] = met
        name = met_field.removesuffix("_cents")
        sources.append(
            SourcedValue(name, format_usd(met), f"{label}: {how}, as of {verified_on.isoformat()}")
        )
    visits: dict[Level, int] = {}
    notes: list[str] = []
    for level, stated in zip(LEVEL_ORDER, levels, strict=True):
        benefit = terms.benefits[level]
        if stated.visits_remaining is None or benefit is None:
            continue
        visits[level] = stated.visits_remaining
        key = category_key(terms.category, level)
        sources.append(
            SourcedValue(
                f"{key}.visits_remaining",
                str(stated.visits_remaining),
                f"{label}: {stated.sources['visits_remaining']}",
            )
        )
        fallback = f"the limit of {benefit.visit_limit}" if benefit.visit_limit else "no limit"
        notes.append(
            f"{label}: the payer states {stated.visits_remaining} {key} visit(s) remaining as of "
            f"{verified_on.isoformat()}; only that many more are covered until the plan year resets, "
            f"then {fallback} applies."
        )
    return VerifiedMet(**values, visits_remaining=visits, sources=sources, notes=notes)


def verification_assumptions(
    terms: CostTerms, verified: VerifiedBenefits, verification_id: int, verified_on: dt.date
) -> list[str]:
    """The mapping notes that concern this estimate's category and network, cited."""
    label = verification_label(verification_id, verified_on)
    category = CATEGORY_LABELS[terms.category]
    other_network = NETWORK_LABELS["out" if terms.network == "in" else "in"]
    notes = [
        f"{label}: {note}"
        for note in verified.notes
        if note.startswith(category) and other_network not in note
    ]
    for level, stated in zip(LEVEL_ORDER, _category_levels(terms, verified), strict=True):
        benefit = terms.benefits[level]
        if benefit is None or stated.coinsurance is None or stated.copay_cents is not None:
            continue
        if benefit.copay_cents:
            notes.append(
                f"{label}: {category_key(terms.category, level)}: the payer states "
                f"{Percent(stated.coinsurance)} coinsurance but no copay; the plan file's "
                f"{format_usd(benefit.copay_cents)} copay is kept, so both apply. Confirm with the payer."
            )
    return notes
