"""The batch's inputs as frames: the plan catalog as cost-term tables, pathways as phases, and
every scenario's dated units (schedule.expand's weekday rule, read off expand itself)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import polars as pl

from coverage.errors import InputError
from coverage.levels import LEVEL_ORDER
from coverage.plans import PlanCatalog
from coverage.pricing.batch_engine import MAX_PATHWAYS, MAX_TERMS, NO_LIMIT, SCENARIO_ORDER, fraction_of
from coverage.pricing.engine import balance_bill
from coverage.pricing.terms import CostTerms, build_terms
from coverage.schedule import (
    DEFAULT_HORIZON_WEEKS,
    MAX_HORIZON_WEEKS,
    Phase,
    expand,
    format_pathway,
    scenario_pathways,
)

# --- plan tables ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanTables:
    """The catalog as small frames: plans, terms per (plan, network, category), benefits per level,
    and which terms price which dates (a plan's own, then its successors' by `renewed_by`).

    Row numbers are ids, so that lookups go by position: `terms` row i has terms_id i, and
    `benefits` row terms_id * len(LEVEL_ORDER) + level holds that level's benefit of those terms.
    """

    plans: pl.DataFrame
    terms: pl.DataFrame
    benefits: pl.DataFrame
    renewals: pl.DataFrame

    @classmethod
    def from_catalog(cls, catalog: PlanCatalog) -> PlanTables:
        plans, terms, benefits = [], [], []
        terms_ids: dict[tuple[str, str, str], int] = {}
        for plan_id, loaded in sorted(catalog.plans.items()):
            plan = loaded.plan
            plans.append(
                {
                    "plan_id": plan_id,
                    "effective_start": plan.effective.start,
                    "effective_end": plan.effective.end,
                }
            )
            for network in ("in", "out"):
                for category in ("mh", "sud"):
                    terms_id = terms_ids[(plan_id, network, category)] = len(terms)
                    assert terms_id < MAX_TERMS, "key_code has room for 8,192 plans"
                    cost_terms = build_terms(loaded, network, category)
                    terms.append(_terms_row(terms_id, plan_id, cost_terms))
                    benefits.extend(_benefit_rows(terms_id, cost_terms))
        return cls(
            plans=pl.DataFrame(plans, schema=_PLAN_SCHEMA),
            terms=pl.DataFrame(terms, schema=_TERMS_SCHEMA),
            benefits=pl.DataFrame(benefits, schema=_BENEFIT_SCHEMA),
            renewals=pl.DataFrame(_renewal_rows(catalog, terms_ids), schema=_RENEWAL_SCHEMA),
        )


_RENEWAL_SCHEMA = {
    "terms_id": pl.Int32,
    "valid_from": pl.Date,
    "valid_to": pl.Date,
    "unit_terms_id": pl.Int32,
}


def _renewal_rows(
    catalog: PlanCatalog, terms_ids: dict[tuple[str, str, str], int]
) -> list[dict[str, object]]:
    """Per terms_id, the terms pricing each span of dates: CostTerms.on as rows (the last plan of
    the chain prices everything after its end, as renewing unchanged)."""
    rows: list[dict[str, object]] = []
    for (plan_id, network, category), terms_id in terms_ids.items():
        loaded = catalog.plans[plan_id]
        valid_from = loaded.plan.effective.start
        while True:
            successor = catalog.get(loaded.plan.renewed_by) if loaded.plan.renewed_by else None
            valid_to = loaded.plan.effective.end if successor is not None else dt.date.max
            rows.append(
                {
                    "terms_id": terms_id,
                    "valid_from": valid_from,
                    "valid_to": valid_to,
                    "unit_terms_id": terms_ids[(loaded.plan.id, network, category)],
                }
            )
            if successor is None:
                break
            loaded, valid_from = successor, valid_to + dt.timedelta(days=1)
    return rows


_PLAN_SCHEMA = {"plan_id": pl.String, "effective_start": pl.Date, "effective_end": pl.Date}
_TERMS_SCHEMA = {
    "terms_id": pl.Int32,
    "plan_id": pl.String,
    "network": pl.String,
    "category": pl.String,
    "py_month": pl.Int8,
    "py_day": pl.Int8,
    "has_limits": pl.Boolean,
    "has_oop_max": pl.Boolean,
    "deductible_individual": pl.Int64,
    "deductible_family": pl.Int64,
    "oop_max_individual": pl.Int64,
    "oop_max_family": pl.Int64,
}
_BENEFIT_SCHEMA = {
    "terms_id": pl.Int32,
    "level": pl.Int8,
    "priceable": pl.Boolean,
    "in_network": pl.Boolean,
    "allowed": pl.Int64,
    "copay": pl.Int64,
    "coi_num": pl.Int64,
    "coi_den": pl.Int64,
    "deductible_applies": pl.Boolean,
    "cap": pl.Int64,
    "balance": pl.Int64,
    "benefit_self_pay": pl.Int64,
    "default_self_pay": pl.Int64,
    "prior_auth": pl.Boolean,
    "initial_units": pl.Int64,
    "visit_limit": pl.Int64,
    "denies": pl.Boolean,
    "pen_num": pl.Int64,
    "pen_den": pl.Int64,
}


_NO_BENEFIT: dict[str, object] = {
    name: {pl.Boolean: False}.get(dtype, 0) for name, dtype in _BENEFIT_SCHEMA.items()
} | {"coi_den": 1, "pen_den": 1, "cap": NO_LIMIT}


def _terms_row(terms_id: int, plan_id: str, terms: CostTerms) -> dict[str, object]:
    limits = terms.limits
    return {
        "terms_id": terms_id,
        "plan_id": plan_id,
        "network": terms.network,
        "category": terms.category,
        "py_month": terms.plan_year_start.month,
        "py_day": terms.plan_year_start.day,
        "has_limits": limits is not None,
        "has_oop_max": limits is not None and limits.has_oop_max,
        **{
            name: None if limits is None else getattr(limits, f"{name}_cents")
            for name in ("deductible_individual", "deductible_family", "oop_max_individual", "oop_max_family")
        },
    }


def _benefit_rows(terms_id: int, terms: CostTerms) -> list[dict[str, object]]:
    rows = []
    for code, level in enumerate(LEVEL_ORDER):
        benefit = terms.benefits[level]
        row: dict[str, object] = {  # zeros where the plan has no benefit: such units are never priced
            **_NO_BENEFIT,
            "terms_id": terms_id,
            "level": code,
            "priceable": benefit is not None and terms.limits is not None,
            "in_network": terms.network == "in",
            "default_self_pay": terms.self_pay_cents[level],
        }
        if benefit is not None:
            coi_num, coi_den = fraction_of(benefit.coinsurance)
            penalty = benefit.no_auth.penalty if benefit.no_auth is not None else None
            pen_num, pen_den = fraction_of(penalty) if penalty is not None else (0, 1)
            row |= {
                "allowed": benefit.allowed_cents,
                "copay": benefit.copay_cents,
                "coi_num": coi_num,
                "coi_den": coi_den,
                "deductible_applies": benefit.deductible_applies,
                "cap": NO_LIMIT
                if benefit.per_unit_member_cap_cents is None
                else benefit.per_unit_member_cap_cents,
                "balance": balance_bill(benefit, terms.network),
                "benefit_self_pay": benefit.self_pay_cents,
                "prior_auth": benefit.prior_auth,
                "initial_units": benefit.auth_initial_units,
                "visit_limit": benefit.visit_limit,
                "denies": benefit.no_auth is not None and benefit.no_auth.denies,
                "pen_num": pen_num,
                "pen_den": pen_den,
            }
        rows.append(row)
    return rows


# --- pathways ------------------------------------------------------------------------------------


_SCENARIO_SCHEMA = dict(
    spec_id=pl.Int32, scenario=pl.String, scenario_order=pl.Int8, pathway_id=pl.Int32, pathway=pl.String
)
_PHASE_SCHEMA = dict(
    pathway_id=pl.Int32, level=pl.Int8, weeks=pl.Int32, units_per_week=pl.Int8, week_offset=pl.Int32
) | {"episode": pl.Int32}


@dataclass(frozen=True)
class Resolved:
    """A row's (horizon_weeks, pathway) cells as a scenario set, or the reasons they are rejected."""

    spec_id: int | None
    errors: tuple[tuple[str, str], ...] = ()


class Pathways:
    """Every pathway and scenario set seen so far; parsing happens once per distinct cell text."""

    def __init__(self) -> None:
        self._pathway_ids: dict[str, int] = {}
        self._phase_rows: list[dict[str, object]] = []
        self._pathway_rows: list[dict[str, object]] = []
        self._spec_ids: dict[tuple[tuple[str, int], ...], int] = {}
        self._scenario_rows: list[dict[str, object]] = []
        self._resolved: dict[tuple[str | None, str | None], Resolved] = {}

    def resolve(self, horizon_text: str | None, pathway_text: str | None) -> Resolved:
        """The scenario set for one distinct pair of cells (both already stripped; None when empty)."""
        key = (horizon_text, pathway_text)
        if key not in self._resolved:
            self._resolved[key] = self._resolve(horizon_text, pathway_text)
        return self._resolved[key]

    def _resolve(self, horizon_text: str | None, pathway_text: str | None) -> Resolved:
        errors: list[tuple[str, str]] = []
        horizon = DEFAULT_HORIZON_WEEKS
        if horizon_text is not None:
            if (
                horizon_text.isascii()
                and horizon_text.isdigit()
                and len(horizon_text) <= 4  # int() of 5,000 digits raises; no bound needs more
                and 1 <= int(horizon_text) <= MAX_HORIZON_WEEKS
            ):
                horizon = int(horizon_text)
            else:
                errors.append(
                    ("horizon_weeks", f"must be a whole number of weeks from 1 to {MAX_HORIZON_WEEKS}")
                )
        scenarios: dict[str, list[Phase]] = {}
        try:
            scenarios = scenario_pathways(horizon, pathway_text)
        except InputError as exc:
            errors.append(("pathway", exc.message))
        unseen = {format_pathway(phases) for phases in scenarios.values()} - self._pathway_ids.keys()
        if len(self._pathway_ids) + len(unseen) > MAX_PATHWAYS:  # key_code has room for this many
            errors.append(("pathway", f"one batch may use at most {MAX_PATHWAYS:,} different pathways"))
        if errors:
            return Resolved(None, tuple(errors))
        return Resolved(self._spec_id(scenarios))

    def _spec_id(self, scenarios: dict[str, list[Phase]]) -> int:
        pathway_ids = {name: self._pathway_id(phases) for name, phases in scenarios.items()}
        spec_key = tuple(pathway_ids.items())
        if spec_key not in self._spec_ids:
            spec_id = self._spec_ids[spec_key] = len(self._spec_ids)
            for name, phases in scenarios.items():
                self._scenario_rows.append(
                    {
                        "spec_id": spec_id,
                        "scenario": name,
                        "scenario_order": SCENARIO_ORDER.index(name) if name in SCENARIO_ORDER else 0,
                        "pathway_id": pathway_ids[name],
                        "pathway": format_pathway(phases),
                    }
                )
        return self._spec_ids[spec_key]

    def _pathway_id(self, phases: list[Phase]) -> int:
        text = format_pathway(phases)
        if text not in self._pathway_ids:
            pathway_id = self._pathway_ids[text] = len(self._pathway_ids)
            week_offset, episode, previous = 0, -1, None
            for phase in phases:
                if phase.level != previous:
                    episode, previous = episode + 1, phase.level
                self._phase_rows.append(
                    {
                        "pathway_id": pathway_id,
                        "level": LEVEL_ORDER.index(phase.level),
                        "weeks": phase.weeks,
                        "units_per_week": phase.units_per_week,
                        "week_offset": week_offset,
                        "episode": episode,
                    }
                )
                week_offset += phase.weeks
            self._pathway_rows.append({"pathway_id": pathway_id, "pathway": text, "weeks": week_offset})
        return self._pathway_ids[text]

    @property
    def count(self) -> int:
        """How many different pathways are registered."""
        return len(self._pathway_ids)

    def scenarios(self) -> pl.DataFrame:
        """spec_id -> one row per scenario (name, output order, pathway_id and its canonical text)."""
        return pl.DataFrame(self._scenario_rows, schema=_SCENARIO_SCHEMA)

    def pathways(self) -> pl.DataFrame:
        """pathway_id -> canonical text and length in weeks."""
        return pl.DataFrame(
            self._pathway_rows, schema={"pathway_id": pl.Int32, "pathway": pl.String, "weeks": pl.Int32}
        )

    def phases(self) -> pl.DataFrame:
        """One row per phase: level, weeks, units a week, the week it starts and its episode."""
        return pl.DataFrame(self._phase_rows, schema=_PHASE_SCHEMA)


@cache
def _unit_days() -> pl.DataFrame:
    """Days of a week that hold units, counted from the phase's first day (0 to 6), per units-per-week
    and weekday (Mon=0) the phase starts on.

    Read off schedule.expand itself, one week at a time, so the weekday rule lives in one place.
    """
    monday = dt.date(2024, 1, 1)
    rows = [
        {
            "units_per_week": per_week,
            "start_weekday": start_weekday,
            "day": (unit.date.weekday() - start_weekday) % 7,
        }
        for per_week in range(1, 8)
        for start_weekday in range(7)
        for unit in expand([Phase("op", 1, per_week, 60)], monday + dt.timedelta(days=start_weekday))
    ]
    return pl.DataFrame(rows, schema={"units_per_week": pl.Int8, "start_weekday": pl.Int8, "day": pl.Int8})


def schedule_units(pairs: pl.LazyFrame, phases: pl.LazyFrame) -> pl.LazyFrame:
    """Dated units for each distinct (start_date, pathway_id), as schedule.expand would place them:
    each week of a phase, on the days `_unit_days` gives (a row per unit, never one per day)."""
    return (
        pairs.join(phases, on="pathway_id")
        .with_columns(
            week=pl.int_ranges(pl.col("week_offset"), pl.col("week_offset") + pl.col("weeks")),
            start_weekday=(pl.col("start_date").dt.weekday() - 1).cast(pl.Int8),
        )
        .explode("week")
        .join(_unit_days().lazy(), on=["units_per_week", "start_weekday"])
        .with_columns(date=pl.col("start_date") + pl.duration(days=7 * pl.col("week") + pl.col("day")))
        .sort("start_date", "pathway_id", "date")
        .with_columns(
            unit_in_episode=pl.int_range(1, pl.len() + 1).over("start_date", "pathway_id", "episode"),
        )
        .select("start_date", "pathway_id", "date", "level", "unit_in_episode")
    )
