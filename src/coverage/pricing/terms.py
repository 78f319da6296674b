"""Cost terms: everything pricing needs for one plan, network and category, each value sourced.

`build_terms` reads a plan file's values; a verification may then override what the payer
stated (`coverage.pricing.verification`). Both engines price from these terms alone.
"""

from __future__ import annotations

import datetime as dt

import msgspec
from msgspec import Struct

from coverage.levels import LEVEL_ORDER, LEVELS, Category, Level, Network, category_key
from coverage.money import format_usd
from coverage.plans import Benefit, LoadedPlan, MonthDay, NetworkAccumulators, PlanCatalog, ProgramRules
from coverage.pricing.kept import KeptFor


class SourcedValue(Struct, frozen=True):
    """One benefit or accumulator value used in an estimate, and where it came from."""

    name: str
    value: str
    source: str


class CostTerms(Struct, frozen=True):
    """Everything pricing needs, already merged from plan file, verification and request."""

    network: Network
    category: Category
    benefits: dict[Level, Benefit | None]  # None: the plan has no benefit for the level here
    limits: NetworkAccumulators | None  # None: the plan covers nothing in this network
    plan_year_start: MonthDay
    self_pay_cents: dict[Level, int]  # charge for a unit with no benefit at all
    program_rules: ProgramRules
    sources: dict[str, SourcedValue]
    plan_id: str = ""
    effective_end: dt.date | None = None  # None: no end known (a plan typed in on a page)
    renewal: CostTerms | None = None  # the successor plan's terms, from the day after effective_end

    def on(self, day: dt.date) -> CostTerms:
        """The terms that price a unit on `day`: this plan's, or a successor's after its end.

        Past the last plan in the chain, that plan's terms (it is priced as renewing unchanged).
        """
        terms = self
        while terms.renewal is not None and terms.effective_end is not None and day > terms.effective_end:
            terms = terms.renewal
        return terms

    def last(self) -> CostTerms:
        """The last plan of the renewal chain."""
        terms = self
        while terms.renewal is not None:
            terms = terms.renewal
        return terms


class StartingAccumulators(Struct, frozen=True):
    """Amounts already met in the plan year that contains the start date."""

    deductible_met_cents: int = 0
    oop_met_cents: int = 0
    family_deductible_met_cents: int | None = None  # None: no other family member's spending
    family_oop_met_cents: int | None = None
    # Visits the payer states remain this plan year, per level: authoritative over the plan
    # file's limit until the plan year resets.
    visits_remaining: dict[Level, int] = {}


def build_terms(loaded: LoadedPlan, network: Network, category: Category) -> CostTerms:
    """The plan's cost terms for one network and category, each value with its source."""
    plan = loaded.plan
    network_key = "in_network" if network == "in" else "out_of_network"
    limits = plan.network_accumulators(network)
    benefits = {level: plan.benefit(category_key(category, level), network) for level in LEVEL_ORDER}
    sources: dict[str, SourcedValue] = {}

    def sourced(name: str, value: str, key_path: str) -> None:
        sources[name] = SourcedValue(name, value, loaded.source_of(key_path))

    if limits is not None:
        prefix = f"accumulators.{network_key}"
        for attribute, key in (
            ("deductible_individual_cents", "deductible_individual"),
            ("deductible_family_cents", "deductible_family"),
            ("oop_max_individual_cents", "oop_max_individual"),
            ("oop_max_family_cents", "oop_max_family"),
        ):
            amount = getattr(limits, attribute)
            sourced(key, "none" if amount is None else format_usd(amount), f"{prefix}.{key}")
    for level, benefit in benefits.items():
        key = category_key(category, level)
        if benefit is None:
            continue
        prefix = f"benefits.{key}.{network_key}"
        sourced(f"{key}.allowed", format_usd(benefit.allowed_cents), f"{prefix}.allowed")
        sourced(f"{key}.copay", format_usd(benefit.copay_cents), f"{prefix}.copay")
        sourced(f"{key}.coinsurance", str(benefit.coinsurance), f"{prefix}.coinsurance")
        sourced(
            f"{key}.deductible_applies",
            str(benefit.deductible_applies).lower(),
            f"{prefix}.deductible_applies",
        )
        sourced(f"{key}.prior_auth", str(benefit.prior_auth).lower(), f"{prefix}.prior_auth")
        if benefit.prior_auth:
            sourced(
                f"{key}.auth_initial_units", str(benefit.auth_initial_units), f"{prefix}.auth_initial_units"
            )
            sourced(f"{key}.auth_review_units", str(benefit.auth_review_units), f"{prefix}.auth_review_units")
            sourced(f"{key}.no_auth", str(benefit.no_auth), f"{prefix}.no_auth")
        sourced(f"{key}.visit_limit", str(benefit.visit_limit or "none"), f"{prefix}.visit_limit")
        if benefit.billed_cents is not None:
            sourced(f"{key}.billed", format_usd(benefit.billed_cents), f"{prefix}.billed")
        if benefit.per_unit_member_cap_cents is not None:
            sourced(
                f"{key}.per_unit_member_cap",
                format_usd(benefit.per_unit_member_cap_cents),
                f"{prefix}.per_unit_member_cap",
            )
    self_pay: dict[Level, int] = {}
    for level in LEVEL_ORDER:
        self_pay[level] = LEVELS[level].default_self_pay_cents
        if benefits[level] is None:
            sources[f"{category_key(category, level)}.self_pay"] = SourcedValue(
                f"{category_key(category, level)}.self_pay",
                format_usd(self_pay[level]),
                "default self-pay rate (levels table): the plan has no benefit here",
            )
    return CostTerms(
        network=network,
        category=category,
        benefits=benefits,
        limits=limits,
        plan_year_start=plan.plan_year_start,
        self_pay_cents=self_pay,
        program_rules=plan.program_rules,
        sources=sources,
        plan_id=plan.id,
        effective_end=plan.effective.end,
    )


def terms_with_renewals(
    catalog: PlanCatalog, loaded: LoadedPlan, network: Network, category: Category
) -> CostTerms:
    """build_terms, chained to the terms of the plans that renew it (`renewed_by`, checked at load)."""
    terms = build_terms(loaded, network, category)
    successor = catalog.get(loaded.plan.renewed_by) if loaded.plan.renewed_by else None
    if successor is None:
        return terms
    return msgspec.structs.replace(terms, renewal=terms_with_renewals(catalog, successor, network, category))


_terms_built: KeptFor[PlanCatalog, CostTerms] = KeptFor(256)  # (catalog, plan, network, category)


def catalog_terms(
    catalog: PlanCatalog, loaded: LoadedPlan, network: Network, category: Category
) -> CostTerms:
    """terms_with_renewals, built once per catalog, plan, network and category and then reused: a
    loaded catalog never changes, and sourcing every value is a good part of a request's work."""
    return _terms_built.get(
        catalog,
        (loaded.plan.id, network, category),
        lambda: terms_with_renewals(catalog, loaded, network, category),
    )


def renewal_sources(terms: CostTerms, end_date: dt.date) -> tuple[list[SourcedValue], list[str]]:
    """The successor plans' values (named after their plan) and an assumption, for those reached."""
    sources: list[SourcedValue] = []
    notes: list[str] = []
    current = terms
    while (
        current.renewal is not None and current.effective_end is not None and end_date > current.effective_end
    ):
        successor = current.renewal
        sources.extend(
            SourcedValue(f"{successor.plan_id}: {source.name}", source.value, source.source)
            for source in successor.sources.values()
        )
        notes.append(
            f"Units from {current.effective_end + dt.timedelta(days=1)} are priced with the terms of "
            f"{successor.plan_id}, the plan file that renews {current.plan_id} (its deductible, "
            "out-of-pocket and visit counts start from zero on that plan-year start)."
        )
        current = successor
    return sources, notes
