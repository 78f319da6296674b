"""The 271 mapped onto what the estimator prices, never inventing a value.

The clearinghouse answers with a flat `benefitsInformation` array; this module maps it onto
the plan categories the estimator prices (mental health / substance use x office, IOP, PHP x
in / out of network) without ever inventing a value: whatever the payer did not state stays
None, and every value that is set says which service type code and network it came from.

A payer's quirks go in a registered adapter (`coverage.eligibility.payers`), never in here:
the mapper asks the adapter where each level looks and how an entry's network reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from msgspec import Struct

from coverage.eligibility.benefits import (
    COST_FIELDS,
    FIELD_LABELS,
    Accumulator,
    LevelBenefits,
    VerifiedBenefits,
)
from coverage.eligibility.codes import (
    ACTIVE_CODES,
    LEVEL_SPECIFIC_STCS,
    NOT_COVERED,
    PLAN_WIDE_STC,
    REMAINING,
    STC_NAMES,
    TIME_QUALIFIERS,
    TOTAL_PERIODS,
    UNIT_QUANTITIES,
    YEAR_TO_DATE,
)
from coverage.eligibility.payers import DEFAULT_ADAPTER, PayerAdapter
from coverage.eligibility.wire import BenefitEntry, PlanDates, Response271
from coverage.levels import (
    CATEGORIES,
    CATEGORY_LABELS,
    LEVEL_ORDER,
    LEVELS,
    NETWORK_LABELS,
    NETWORKS,
    Category,
    Level,
    Network,
)
from coverage.money import format_usd


def _cents(amount: Decimal) -> int | None:
    """Exact dollars -> cents; None for negative, non-finite, sub-cent or absurdly long amounts."""
    if not amount.is_finite() or amount < 0:
        return None
    try:
        whole_cents = amount.quantize(Decimal("0.01"))
    except InvalidOperation:  # more digits than Decimal's precision holds: no real dollar amount
        return None
    return int(amount * 100) if amount == whole_cents else None


def _whole(quantity: Decimal) -> int | None:
    if not quantity.is_finite() or quantity < 0 or quantity != quantity.to_integral_value():
        return None
    return int(quantity)


class _Tier(Struct):
    entries: list[BenefitEntry]
    codes: tuple[str, ...]  # the service type codes that matched
    network_stated: bool

    def describe(self, network: Network) -> str:
        codes = "/".join(self.codes)
        names = "; ".join(STC_NAMES.get(code, code) for code in self.codes)
        if not self.network_stated:
            where = "network not stated by payer"
        elif all(entry.in_plan_network_indicator_code == "W" for entry in self.entries):
            where = "same in and out of network"
        else:
            where = NETWORK_LABELS[network]
        return f"STC {codes} ({names}), {where}"


class _Mapper:
    """Resolves each field of each LevelBenefits from the most specific usable entries."""

    def __init__(self, entries: list[BenefitEntry], adapter: PayerAdapter) -> None:
        self.entries = entries
        self.adapter = adapter
        self.notes: list[str] = []
        self.fallbacks: dict[tuple[Category, Network], set[str]] = {}
        self.level_specific: set[Category] = set()

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def tier(
        self, category: Category, level: Level, network: Network, wanted: Callable[[BenefitEntry], bool]
    ) -> _Tier | None:
        """The most specific tier (then stated network before unstated) with a wanted entry."""
        for tier_codes in self.adapter.stc_tiers(category, level):
            for stated in (True, None):
                found = [
                    entry
                    for entry in self.entries
                    if self.adapter.network_match(entry, network) is stated
                    and any(code in tier_codes for code in entry.service_type_codes)
                    and wanted(entry)
                ]
                if found:
                    codes = tuple(
                        code for code in tier_codes if any(code in e.service_type_codes for e in found)
                    )
                    return _Tier(found, codes, stated is True)
        return None

    def single(
        self, values: Iterable[object], what: str, where: str, show: Callable[[Any], str] | None = None
    ) -> object | None:
        """The one value the entries agree on; conflicting values are reported, not guessed."""
        distinct = sorted({value for value in values if value is not None}, key=str)
        if len(distinct) > 1:
            shown = ", ".join((show or _show)(value) for value in distinct)
            self.note(f"{where}: the payer gave conflicting {what} ({shown}); not used")
            return None
        return distinct[0] if distinct else None

    def usable_amount(self, entry: BenefitEntry, where: str) -> int | None:
        if entry.benefit_amount is None:
            return None
        cents = _cents(entry.benefit_amount)
        if cents is None:
            self.note(f"{where}: benefitAmount {entry.benefit_amount} is not a dollar amount; not used")
        return cents

    def usable_percent(self, entry: BenefitEntry, where: str) -> Decimal | None:
        percent = entry.benefit_percent
        if percent is None:
            return None
        if not percent.is_finite() or not Decimal(0) <= percent <= Decimal(1):
            self.note(f"{where}: benefitPercent {percent} is outside X12's 0-1 range; not used")
            return None
        return percent.normalize()

    def record(
        self, sources: dict[str, str], field: str, tier: _Tier, category: Category, network: Network
    ) -> None:
        sources[field] = tier.describe(network)
        if PLAN_WIDE_STC in tier.codes:
            self.fallbacks.setdefault((category, network), set()).add(field)
        if LEVEL_SPECIFIC_STCS.intersection(tier.codes):
            self.level_specific.add(category)

    def map_level(self, category: Category, level: Level, network: Network) -> LevelBenefits:
        where = f"{CATEGORY_LABELS[category]} {LEVELS[level].setting}, {NETWORK_LABELS[network]}"
        sources: dict[str, str] = {}
        values: dict[str, object] = {}

        def resolve(
            wanted: Callable[[BenefitEntry], bool],
            fields: dict[str, tuple[str, Callable[[BenefitEntry], object], Callable[[Any], str] | None]],
        ) -> None:
            """Fields resolved together read one tier, so a broader code never fills a gap
            that the more specific code left (payers omit a copay they do not charge)."""
            tier = self.tier(category, level, network, wanted)
            if tier is None:
                return
            for field, (what, value_of, show) in fields.items():
                value = self.single((value_of(entry) for entry in tier.entries), what, where, show)
                if value is not None:
                    values[field] = value
                    self.record(sources, field, tier, category, network)

        def is_copay(entry: BenefitEntry) -> bool:
            return (
                entry.code == "B"
                and entry.benefit_amount is not None
                and entry.time_qualifier_code not in (REMAINING, "33")
            )

        def is_coinsurance(entry: BenefitEntry) -> bool:
            return entry.code == "A" and entry.benefit_percent is not None

        resolve(
            lambda e: e.code in ACTIVE_CODES or e.code == NOT_COVERED,
            {"active": ("coverage status", lambda e: ACTIVE_CODES.get(e.code, False), None)},
        )
        resolve(
            lambda e: is_copay(e) or is_coinsurance(e),
            {
                "copay_cents": (
                    "copays",
                    lambda e: self.usable_amount(e, where) if is_copay(e) else None,
                    format_usd,
                ),
                "coinsurance": (
                    "coinsurance",
                    lambda e: self.usable_percent(e, where) if is_coinsurance(e) else None,
                    None,
                ),
            },
        )
        # The indicator is read in the most specific tier that says anything about the level, as
        # amounts are: a Y on A8 (psychiatric outpatient) does not reach office therapy when the
        # CF/A6 entries state no indicator.
        resolve(
            lambda e: True,
            {
                "prior_auth": (
                    "prior authorization indicators",
                    lambda e: {"Y": True, "N": False}.get(e.auth_or_cert_indicator or ""),
                    None,
                )
            },
        )
        for field, code, family in (
            ("deductible_individual", "C", False),
            ("deductible_family", "C", True),
            ("oop_individual", "G", False),
            ("oop_family", "G", True),
        ):
            self.map_accumulator(field, code, family, category, level, network, where, sources, values)
        self.map_visit_limit(category, level, network, where, sources, values)
        return LevelBenefits(category, level, network, sources=sources, **values)  # type: ignore[arg-type]

    def map_accumulator(
        self,
        field: str,
        code: str,
        family: bool,
        category: Category,
        level: Level,
        network: Network,
        where: str,
        sources: dict[str, str],
        values: dict[str, object],
    ) -> None:
        """Total, remaining and year-to-date come from one tier, so `met` is coherent."""
        levels = ("FAM",) if family else ("IND", "EMP", None)
        tier = self.tier(
            category,
            level,
            network,
            lambda e: e.code == code and e.coverage_level_code in levels and e.benefit_amount is not None,
        )
        if tier is None:
            return
        what = f"{'family' if family else 'individual'} {'deductible' if code == 'C' else 'out-of-pocket'}"

        def amount_for(qualifiers: Iterable[str]) -> int | None:
            amounts = (
                self.usable_amount(e, where) for e in tier.entries if e.time_qualifier_code in qualifiers
            )
            return self.single(amounts, f"{what} amounts", where, format_usd)  # type: ignore[return-value]

        total = amount_for(TOTAL_PERIODS)
        remaining = amount_for((REMAINING,))
        year_to_date = amount_for((YEAR_TO_DATE,))
        unqualified = [e for e in tier.entries if e.time_qualifier_code is None]
        if unqualified:
            self.note(f"{where}: {what} of ${unqualified[0].benefit_amount} has no time qualifier; not used")
        periods = {e.time_qualifier_code for e in tier.entries if e.time_qualifier_code in TOTAL_PERIODS}
        period = TOTAL_PERIODS[periods.pop()] if len(periods) == 1 and total is not None else None
        met = year_to_date
        if total is not None and remaining is not None:
            if remaining > total:
                self.note(f"{where}: {what} remaining exceeds its total; met amount not derived")
                met = None
            else:
                met = total - remaining
        if total is None and remaining is None and year_to_date is None:
            return
        values[field] = Accumulator(total, remaining, year_to_date, met, period)
        self.record(sources, field, tier, category, network)
        if any(e.coverage_level_code is None for e in tier.entries):
            sources[field] += "; coverage level not stated, read as individual"

    def map_visit_limit(  # the same slot as map_accumulator fills
        self, category: Category, level: Level, network: Network, where: str,
        sources: dict[str, str], values: dict[str, object],
    ) -> None:
        """Limitations (F) counted in visits or days, per plan year, and what remains."""
        tier = self.tier(category, level, network, lambda e: e.code == "F")
        if tier is None:
            return
        totals: list[int | None] = []
        remaining: list[int | None] = []
        for entry in tier.entries:
            counts = [
                (entry.benefit_quantity, entry.quantity_qualifier_code, entry.time_qualifier_code, None)
            ]
            counts += [
                (
                    delivery.quantity,
                    delivery.quantity_qualifier_code,
                    delivery.time_period_qualifier_code or entry.time_qualifier_code,
                    delivery.num_of_periods,
                )
                for delivery in entry.benefits_service_delivery
            ]
            counted = False
            for quantity, unit, period, periods in counts:
                if quantity is None or unit not in UNIT_QUANTITIES:
                    continue
                counted = True
                shown = f"{quantity} {UNIT_QUANTITIES[unit]}"
                per = TIME_QUALIFIERS.get(period or "", "an unstated period")
                if _whole(quantity) is None:
                    self.note(f"{where}: limitation quantity {quantity} is not a whole count; not used")
                elif periods not in (None, 1):
                    self.note(f"{where}: limit of {shown} per {periods} {per} periods not applied")
                elif period == REMAINING:
                    remaining.append(_whole(quantity))
                elif period in TOTAL_PERIODS:
                    totals.append(_whole(quantity))
                else:
                    self.note(f"{where}: limit of {shown} per {per} not applied (limits are per plan year)")
            if not counted and entry.benefit_amount is not None:
                self.note(f"{where}: a dollar limitation of ${entry.benefit_amount} is not modeled")
        limit = self.single(totals, "visit limits", where)
        left = self.single(remaining, "remaining visits", where)
        if limit is not None:
            values["visit_limit"] = limit
            self.record(sources, "visit_limit", tier, category, network)
        if left is not None:
            values["visits_remaining"] = left
            self.record(sources, "visits_remaining", tier, category, network)

    def summary_notes(self, levels: list[LevelBenefits]) -> None:
        for category in CATEGORIES:
            if category not in self.level_specific:
                self.note(
                    f"{CATEGORY_LABELS[category]}: the payer did not distinguish office, IOP and PHP; "
                    "the same values apply to all three levels"
                )
            for network in NETWORKS:
                where = f"{CATEGORY_LABELS[category]}, {NETWORK_LABELS[network]}"
                stated = {
                    field
                    for benefits in levels
                    if (benefits.category, benefits.network) == (category, network)
                    for field in benefits.sources
                }
                if not stated.intersection(COST_FIELDS):
                    self.note(f"{where}: the payer returned no cost-sharing values")
                fields = self.fallbacks.get((category, network))
                if fields:
                    shown = ", ".join(
                        FIELD_LABELS[field] for field in sorted(fields, key=list(FIELD_LABELS).index)
                    )
                    self.note(
                        f"{where}: {shown} taken from STC 30 (health benefit plan coverage) "
                        "because the payer returned nothing more specific"
                    )


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return f"{(value * 100).normalize():f}%"
    return str(value)


def _parse_x12_dates(text: str | None) -> tuple[dt.date | None, dt.date | None]:
    """Parse "20260101" or "20260101-20261231" into (start, end); anything else -> (None, None)."""
    if not text:
        return None, None
    parts = text.split("-")
    try:
        days = [dt.datetime.strptime(part, "%Y%m%d").date() for part in parts]
    except ValueError:
        return None, None
    if len(days) == 1:
        return days[0], None
    return (days[0], days[1]) if len(days) == 2 else (None, None)


def _coverage_dates(dates: PlanDates | None) -> tuple[dt.date | None, dt.date | None]:
    if dates is None:
        return None, None
    start, end = _parse_x12_dates(dates.plan)
    start = start or _parse_x12_dates(dates.plan_begin)[0] or _parse_x12_dates(dates.eligibility_begin)[0]
    end = end or _parse_x12_dates(dates.plan_end)[0] or _parse_x12_dates(dates.eligibility_end)[0]
    return start, end


def map_benefits(response: Response271, adapter: PayerAdapter = DEFAULT_ADAPTER) -> VerifiedBenefits:
    """Map a decoded 271 onto every category x level x network; absent stays None."""
    entries = response.benefits_information or []
    mapper = _Mapper(entries, adapter)
    levels = [
        mapper.map_level(category, level, network)
        for category in CATEGORIES
        for level in LEVEL_ORDER
        for network in NETWORKS
    ]
    mapper.summary_notes(levels)
    coverage = [e for e in entries if e.code in ACTIVE_CODES]
    active = None
    if any(ACTIVE_CODES[e.code] for e in coverage):
        active = True
    elif coverage:  # only inactive codes (6-8): no active entry anywhere
        active = False
    plan_coverage = next((e.plan_coverage for e in coverage if e.plan_coverage), None)
    start, end = _coverage_dates(response.plan_date_information)
    return VerifiedBenefits(
        payer_name=response.payer.name if response.payer else None,
        plan_coverage=plan_coverage,
        active=active,
        coverage_start=start,
        coverage_end=end,
        levels=levels,
        notes=mapper.notes,
    )

