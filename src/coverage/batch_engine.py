"""The vectorized pricing engine behind `coverage batch`: engine.py's rules as polars expressions.

Why it is shaped this way (docs/batch.md has the long version):

- A *key* is (plan terms, start date, one scenario's pathway, auth assumption). The schedule, the
  plan year, the authorization state and the visit-limit status of every unit follow from the key
  alone, never from a client's money, so they are worked out once per key and cached across chunks.
- A key's units are compressed into *runs*: consecutive units with the same level, plan year and
  status (and month, when months are reported). The units of a run differ only in where the
  deductible and the out-of-pocket maximum run out, and both points have closed forms. The
  deductible left before a run is the client's remaining minus what earlier runs can take (a
  per-key prefix sum); the out-of-pocket budget before a run is the client's remaining minus the
  running total of the earlier runs' shares.
- A run's priced units form three blocks of identical units: wholly inside the deductible, the one
  unit that finishes it, and past it. The out-of-pocket budget cuts each block into units paid in
  full, at most one unit cut short, and units that cost the client nothing. So a client costs a
  few rows of integer arithmetic per scenario instead of one row per unit.

Money is integer cents in Int64 columns throughout; rounding is integer half-up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import IntEnum
from fractions import Fraction
from functools import cache

import polars as pl

from coverage.engine import AuthStatus, CostTerms, balance_bill
from coverage.estimate import build_terms
from coverage.levels import LEVEL_ORDER
from coverage.money import Percent
from coverage.plans import PlanCatalog
from coverage.schedule import (
    DEFAULT_HORIZON_WEEKS,
    MAX_HORIZON_WEEKS,
    PathwayError,
    Phase,
    expand,
    format_pathway,
    parse_pathway,
    standard_pathways,
)

# Chunks are small and order matters (running totals): the in-memory engine is the faster fit here.
IN_MEMORY = "in-memory"
NO_LIMIT = 1 << 53  # stands in for "no cap" / "no out-of-pocket maximum"; above any sum of cents here
AUTH_CODES: dict[AuthStatus, int] = {"approved": 0, "initial_only": 1, "none": 2}
KEY_COLUMNS = ("terms_id", "start_date", "pathway_id", "auth")
SCENARIO_ORDER = ("weekly", "iop", "php")
CARRY = ("row", "scenario_order")  # identifies a client scenario through pricing
CLIENT_START_COLUMNS = ("deductible_remaining", "oop_remaining", "deductible_met", "oop_met")
PRICED_COLUMNS = ("deductible", "copay", "coinsurance", "penalty")  # what a client's accumulators change
FIXED_COLUMNS = ("units", "allowed", "balance_bill", "not_covered", "provider_absorbs", "denied_exposure")
POSITION_COLUMNS = ("plan_year_start", "deductible_met", "deductible_remaining", "oop_met", "oop_remaining")
MONEY_COLUMNS = (
    "allowed",
    "member_cost",
    "deductible",
    "copay",
    "coinsurance",
    "penalty",
    "balance_bill",
    "not_covered",
    "plan_paid",
    "provider_absorbs",
    "denied_exposure",
)
TOTAL_COLUMNS = ("units", *MONEY_COLUMNS)


class Status(IntEnum):
    """engine.UnitStatus as a small integer; the batch never needs the names."""

    COVERED = 0
    PENALTY = 1
    DENIED = 2
    OVER_LIMIT = 3
    NOT_COVERED = 4


def _fraction(percent: Percent) -> tuple[int, int]:
    exact = Fraction(percent.fraction)
    return exact.numerator, exact.denominator


def share_of(amount: pl.Expr, numerator: str, denominator: str) -> pl.Expr:
    """Percent.of in integers: numerator/denominator of a non-negative amount, rounded half-up."""
    return (2 * pl.col(numerator) * amount + pl.col(denominator)) // (2 * pl.col(denominator))


def running_total(values: pl.Expr, starts: pl.Expr) -> pl.Expr:
    """Inclusive cumulative sum that restarts on every row where `starts` holds (segments are contiguous)."""
    total = values.cum_sum()
    return total - pl.when(starts).then(total - values).forward_fill()


def new_segment(*columns: str) -> pl.Expr:
    """True on the first row and wherever any of the columns differs from the row before."""
    return pl.any_horizontal(pl.col(name).ne_missing(pl.col(name).shift()) for name in columns)


# --- plan tables ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanTables:
    """The catalog as small frames: plans, terms per (plan, network, category), benefits per level,
    and which terms price which dates (a plan's own, then its successors' by `renewed_by`)."""

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
            coi_num, coi_den = _fraction(benefit.coinsurance)
            penalty = benefit.no_auth.penalty if benefit.no_auth is not None else None
            pen_num, pen_den = _fraction(penalty) if penalty is not None else (0, 1)
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
        if pathway_text is None:
            scenarios = standard_pathways(horizon)
        else:
            try:
                scenarios = {"custom": parse_pathway(pathway_text)}
            except PathwayError as exc:
                errors.append(("pathway", str(exc)))
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

    def scenarios(self) -> pl.DataFrame:
        """spec_id -> one row per scenario (name, output order, pathway_id and its canonical text)."""
        return pl.DataFrame(
            self._scenario_rows,
            schema={
                "spec_id": pl.Int32,
                "scenario": pl.String,
                "scenario_order": pl.Int8,
                "pathway_id": pl.Int32,
                "pathway": pl.String,
            },
        )

    def pathways(self) -> pl.DataFrame:
        """pathway_id -> canonical text and length in weeks."""
        return pl.DataFrame(
            self._pathway_rows, schema={"pathway_id": pl.Int32, "pathway": pl.String, "weeks": pl.Int32}
        )

    def phases(self) -> pl.DataFrame:
        """One row per phase: level, weeks, units a week, the week it starts and its episode."""
        return pl.DataFrame(
            self._phase_rows,
            schema={
                "pathway_id": pl.Int32,
                "level": pl.Int8,
                "weeks": pl.Int32,
                "units_per_week": pl.Int8,
                "week_offset": pl.Int32,
                "episode": pl.Int32,
            },
        )


@cache
def _unit_weekdays() -> pl.DataFrame:
    """Weekdays (Mon=0) that hold units, per units-per-week and phase-start weekday.

    Read off schedule.expand itself, one week at a time, so the weekday rule lives in one place.
    """
    monday = dt.date(2024, 1, 1)
    rows = [
        {"units_per_week": per_week, "start_weekday": start_weekday, "weekday": unit.date.weekday()}
        for per_week in range(1, 8)
        for start_weekday in range(7)
        for unit in expand([Phase("op", 1, per_week, 60)], monday + dt.timedelta(days=start_weekday))
    ]
    return pl.DataFrame(
        rows, schema={"units_per_week": pl.Int8, "start_weekday": pl.Int8, "weekday": pl.Int8}
    )


def schedule_units(pairs: pl.LazyFrame, phases: pl.LazyFrame) -> pl.LazyFrame:
    """Dated units for each distinct (start_date, pathway_id), as schedule.expand would place them."""
    offset = pl.col("offset")
    return (
        pairs.join(phases, on="pathway_id")
        .with_columns(
            offset=pl.int_ranges(7 * pl.col("week_offset"), 7 * (pl.col("week_offset") + pl.col("weeks")))
        )
        .explode("offset")
        .with_columns(
            date=pl.col("start_date") + pl.duration(days=offset),
            start_weekday=(pl.col("start_date").dt.weekday() - 1).cast(pl.Int8),
            weekday=((pl.col("start_date").dt.weekday() - 1 + offset) % 7).cast(pl.Int8),
        )
        .join(_unit_weekdays().lazy(), on=["units_per_week", "start_weekday", "weekday"])
        .sort("start_date", "pathway_id", "date")
        .with_columns(
            unit_in_episode=pl.int_range(1, pl.len() + 1).over("start_date", "pathway_id", "episode"),
        )
        .select("start_date", "pathway_id", "date", "level", "unit_in_episode")
    )


# --- runs per key --------------------------------------------------------------------------------


def _plan_year(date: pl.Expr) -> pl.Expr:
    """Calendar year in which the plan year holding `date` began (MonthDay.plan_year_of)."""
    month, day = date.dt.month(), date.dt.day()
    before = (month < pl.col("py_month")) | ((month == pl.col("py_month")) & (day < pl.col("py_day")))
    return date.dt.year().cast(pl.Int32) - before.cast(pl.Int32)


def _month_number(date: pl.Expr) -> pl.Expr:
    return date.dt.year().cast(pl.Int32) * 12 + date.dt.month().cast(pl.Int32) - 1


def _unit_status() -> pl.Expr:
    """engine._price_one's branches, in its order: no benefit, visit limit, denial, penalty, covered."""
    return (
        pl.when(~pl.col("priceable"))
        .then(Status.NOT_COVERED)
        .when(pl.col("over_limit"))
        .then(Status.OVER_LIMIT)
        .when(pl.col("unauthorized") & pl.col("denies"))
        .then(Status.DENIED)
        .when(pl.col("unauthorized"))
        .then(Status.PENALTY)
        .otherwise(Status.COVERED)
        .cast(pl.Int8)
    )


def classify_units(keyed_units: pl.LazyFrame) -> pl.LazyFrame:
    """Plan year, month and status of every unit of every key; rows sorted by key then date."""
    pending_review = pl.col("prior_auth") & (pl.col("unit_in_episode") > pl.col("initial_units"))
    unauthorized = pl.col("prior_auth") & (
        (pl.col("auth") == AUTH_CODES["none"])
        | ((pl.col("auth") == AUTH_CODES["initial_only"]) & pending_review)
    )
    counted = (pl.col("priceable") & ~(unauthorized & pl.col("denies"))).cast(pl.Int64)
    # Visits used before a unit = earlier counted units of its level in its plan year, up to the limit
    # (a unit past the limit is never counted), so the unit is over the limit once that count reaches it.
    counted_before = counted.cum_sum().over("key_id", "level", "py_idx") - counted
    return (
        keyed_units.with_columns(
            py_year=_plan_year(pl.col("date")),
            start_py_year=_plan_year(pl.col("start_date")),
            month_no=_month_number(pl.col("date")),
        )
        .with_columns(
            py_idx=pl.col("py_year") - pl.col("start_py_year"),
            py_start=pl.date(pl.col("py_year"), pl.col("py_month"), pl.col("py_day")),
            unauthorized=unauthorized,
        )
        .sort("key_id", "date")
        .with_columns(over_limit=(pl.col("visit_limit") > 0) & (counted_before >= pl.col("visit_limit")))
        .with_columns(status=_unit_status())
    )


def compress_runs(units: pl.LazyFrame, by_month: bool) -> pl.LazyFrame:
    """Consecutive identical units of a key become one run."""
    split_on = ["key_id", "py_idx", "level", "status", *(["month_no"] if by_month else [])]
    return (
        units.with_columns(run_no=new_segment(*split_on).cum_sum())
        .group_by("run_no", maintain_order=True)
        .agg(
            pl.col("key_id", "terms_id", "level", "status", "py_idx", "py_start", "month_no").first(),
            units=pl.len().cast(pl.Int64),
        )
    )


def _unit_benefits(tables: PlanTables) -> pl.LazyFrame:
    """Benefits per (terms, level), per-unit amounts named apart from the run totals built from them."""
    return tables.benefits.lazy().rename({"allowed": "unit_allowed", "copay": "unit_copay"})


def _run_constants(runs: pl.LazyFrame, tables: PlanTables) -> pl.LazyFrame:
    """Everything about a run that does not depend on a client: per-unit shares past the deductible,
    the deductible the earlier runs of its plan year can take, the amounts of units never priced."""
    priced = pl.col("status") <= Status.PENALTY
    n, allowed, cap = pl.col("units"), pl.col("unit_allowed"), pl.col("cap")
    status = pl.col("status")
    penalized = status == Status.PENALTY
    denied = status == Status.DENIED
    takes_deductible = priced & pl.col("deductible_applies") & (allowed > 0)
    # A unit takes min(allowed, remaining); the per-unit cap never cuts the deductible.
    deductible_take = pl.when(takes_deductible).then(n * allowed).otherwise(0)
    not_covered_each = (
        pl.when(status == Status.NOT_COVERED)
        .then(pl.col("default_self_pay"))
        .when((status == Status.OVER_LIMIT) | (denied & ~pl.col("in_network")))
        .then(pl.col("benefit_self_pay"))
        .otherwise(0)
    )
    denied_in = denied & pl.col("in_network")
    return (
        runs.join(_unit_benefits(tables), on=["terms_id", "level"], how="left", maintain_order="left")
        .join(tables.terms.lazy(), on="terms_id", how="left", maintain_order="left")
        .with_columns(
            priced_units=pl.when(priced).then(n).otherwise(0),
            takes_deductible=takes_deductible,
            deductible_before=(deductible_take.cum_sum() - deductible_take).over("key_id", "py_idx"),
            fresh_deductible=pl.min_horizontal("deductible_individual", "deductible_family").fill_null(0),
            fresh_oop=pl.min_horizontal("oop_max_individual", "oop_max_family").fill_null(NO_LIMIT),
            pen_num=pl.when(penalized).then(pl.col("pen_num")).otherwise(0),
            pen_den=pl.when(penalized).then(pl.col("pen_den")).otherwise(1),
            full_share=allowed,
            copay0=pl.min_horizontal(pl.col("unit_copay"), allowed),
            allowed=pl.when(priced).then(n * allowed).otherwise(0),
            balance_bill=pl.when(priced).then(n * pl.col("balance")).otherwise(0),
            not_covered=n * not_covered_each,
            provider_absorbs=pl.when(denied_in).then(n * allowed).otherwise(0),
            denied_exposure=pl.when(denied_in).then(n * pl.col("benefit_self_pay")).otherwise(0),
        )
        .with_columns(
            zero_share=pl.min_horizontal(
                pl.col("copay0") + share_of(allowed - pl.col("copay0"), "coi_num", "coi_den"), cap
            ),
        )
        .with_columns(
            zero_copay=pl.min_horizontal(pl.col("copay0"), pl.col("zero_share")),
            pen_allowed=share_of(allowed, "pen_num", "pen_den"),
            pen_full=share_of(allowed - pl.col("full_share"), "pen_num", "pen_den"),
            pen_zero=share_of(allowed - pl.col("zero_share"), "pen_num", "pen_den"),
        )
        .with_columns(zero_coinsurance=pl.col("zero_share") - pl.col("zero_copay"))
        .with_columns(**_segment_ends())
        .select(*_RUN_COLUMNS)
    )


def _segment_ends() -> dict[str, pl.Expr]:
    """Where a key's runs and plan years start and end; recomputed whenever runs are filtered."""
    return {
        "first_in_year": new_segment("key_id", "py_idx"),
        "first_in_key": new_segment("key_id"),
        "last_in_key": new_segment("key_id").shift(-1, fill_value=True),
    }


_RUN_COLUMNS = (
    "key_id",
    "py_idx",
    "py_start",
    "month_no",
    "priced_units",
    "takes_deductible",
    "deductible_before",
    "first_in_year",
    "first_in_key",
    "last_in_key",
    "fresh_deductible",
    "fresh_oop",
    "unit_allowed",
    "unit_copay",
    "coi_num",
    "coi_den",
    "cap",
    "pen_num",
    "pen_den",
    "pen_allowed",
    "pen_full",
    "pen_zero",
    "full_share",
    "zero_share",
    "zero_copay",
    "zero_coinsurance",
    *FIXED_COLUMNS,
)


class RunBook:
    """Runs per key, built once per key and kept across chunks.

    For totals, a key keeps only the runs a client's own accumulators can change (priced units in
    the starting plan year); everything else (units never priced, later plan years, which start
    from zero) is summed per key once. For months, a key keeps all its runs and its month grid.
    """

    def __init__(self, tables: PlanTables, pathways: Pathways, by_month: bool) -> None:
        self._tables = tables
        self._pathways = pathways
        self.by_month = by_month
        key_schema = {"terms_id": pl.Int32, "start_date": pl.Date, "pathway_id": pl.Int32, "auth": pl.Int8}
        self._keys = pl.DataFrame(schema={**key_schema, "key_id": pl.Int64})
        self._runs: list[pl.DataFrame] = []
        self._key_sums: list[pl.DataFrame] = []
        self._months: list[pl.DataFrame] = []

    @property
    def runs(self) -> pl.LazyFrame:
        """Runs to price per client: all of them for months, the client-dependent ones for totals."""
        return pl.concat([frame.lazy() for frame in self._runs])

    @property
    def key_sums(self) -> pl.LazyFrame:
        return pl.concat([frame.lazy() for frame in self._key_sums])

    @property
    def months(self) -> pl.LazyFrame:
        return pl.concat([frame.lazy() for frame in self._months])

    def with_key_ids(self, wanted: pl.DataFrame) -> pl.DataFrame:
        """`wanted` (with the KEY_COLUMNS) plus its key_id; keys not seen before get their runs first."""
        new = wanted.select(KEY_COLUMNS).unique().join(self._keys, on=KEY_COLUMNS, how="anti")
        if new.height:
            self._add(new.sort(KEY_COLUMNS).with_row_index("key_id", offset=self._keys.height))
        return wanted.join(self._keys, on=KEY_COLUMNS, how="left", maintain_order="left")

    def _add(self, new: pl.DataFrame) -> None:
        new = new.with_columns(pl.col("key_id").cast(pl.Int64)).select(*KEY_COLUMNS, "key_id")
        keys = new.lazy()
        terms = self._tables.terms.lazy().select("terms_id", "py_month", "py_day")
        units = schedule_units(
            keys.select("start_date", "pathway_id").unique(), self._pathways.phases().lazy()
        )
        keyed_units = (
            keys.join(units, on=["start_date", "pathway_id"])
            .join(terms, on="terms_id")
            .pipe(_terms_on, self._tables.renewals.lazy(), pl.col("date"))
            .join(_unit_benefits(self._tables), on=["terms_id", "level"])
        )
        runs = _run_constants(
            compress_runs(classify_units(keyed_units), self.by_month), self._tables
        ).collect(engine=IN_MEMORY)
        if self.by_month:
            self._runs.append(runs)
            self._months.append(self._month_grid(keys, terms).collect(engine=IN_MEMORY))
        else:
            own = (pl.col("py_idx") == 0) & (pl.col("priced_units") > 0)
            self._runs.append(runs.filter(own).with_columns(**_segment_ends()))
            fixed_runs = runs.lazy().filter(~own).with_columns(**_segment_ends())
            self._key_sums.append(_key_sums(keys, runs.lazy(), fixed_runs).collect(engine=IN_MEMORY))
        self._keys = pl.concat([self._keys, new])

    def _month_grid(self, keys: pl.LazyFrame, terms: pl.LazyFrame) -> pl.LazyFrame:
        """Every calendar month a key's pathway touches, with the plan year its last day falls in."""
        end = pl.col("start_date") + pl.duration(days=7 * pl.col("weeks") - 1)
        month_end = pl.date(pl.col("month_no") // 12, pl.col("month_no") % 12 + 1, 1).dt.month_end()
        limits = self._tables.terms.lazy().select(
            "terms_id",
            *(
                pl.col(name).alias(f"month_{name}")
                for name in ("has_limits", "deductible_individual", "oop_max_individual")
            ),
        )
        return (
            keys.join(self._pathways.pathways().lazy(), on="pathway_id")
            .join(terms, on="terms_id")
            .with_columns(month_no=pl.int_ranges(_month_number(pl.col("start_date")), _month_number(end) + 1))
            .explode("month_no")
            .with_columns(
                month_end=month_end,
                month_end_py_start=pl.date(_plan_year(month_end), pl.col("py_month"), pl.col("py_day")),
            )
            .pipe(_terms_on, self._tables.renewals.lazy(), pl.col("month_end"))
            .join(limits, on="terms_id")
            .select("key_id", "month_no", "month_end_py_start", *_MONTH_LIMITS)
        )


_MONTH_LIMITS = ("month_has_limits", "month_deductible_individual", "month_oop_max_individual")


def _terms_on(frame: pl.LazyFrame, renewals: pl.LazyFrame, day: pl.Expr) -> pl.LazyFrame:
    """`terms_id` replaced by the terms that price `day` (the key's plan, or a successor's)."""
    return (
        frame.join(renewals, on="terms_id")
        .filter((day >= pl.col("valid_from")) & (day <= pl.col("valid_to")))
        .drop("terms_id", "valid_from", "valid_to")
        .rename({"unit_terms_id": "terms_id"})
    )


def _key_sums(keys: pl.LazyFrame, runs: pl.LazyFrame, fixed_runs: pl.LazyFrame) -> pl.LazyFrame:
    """Per key, the part of every client's totals their own accumulators cannot change: the amounts
    of every run that are fixed anyway, plus the pricing of the runs no client money reaches (later
    plan years start from zero), priced once against a stand-in client."""
    stand_in = keys.select("key_id", *(pl.lit(0, pl.Int64).alias(name) for name in CLIENT_START_COLUMNS))
    fixed_pricing = (
        price_runs(stand_in, fixed_runs)
        .group_by("key_id")
        .agg(pl.col(name).sum().alias(f"fixed_{name}") for name in PRICED_COLUMNS)
    )
    return (
        keys.select("key_id")
        .join(runs.group_by("key_id").agg(pl.col(FIXED_COLUMNS).sum()), on="key_id", how="left")
        .join(fixed_pricing, on="key_id", how="left")
        .with_columns(pl.col(f"fixed_{name}").fill_null(0) for name in PRICED_COLUMNS)
    )


# --- pricing -------------------------------------------------------------------------------------


def starting_amounts() -> dict[str, pl.Expr]:
    """What a client has left at the start (AccumulatorState.starting and its *_remaining).

    Individual and family accumulators accrue the same amounts, so the tightest remaining of the two
    stays the tightest: one number each for deductible and out-of-pocket is enough.
    """
    family_deductible_met = pl.coalesce("family_deductible_met", "deductible_met")
    family_oop_met = pl.coalesce("family_oop_met", "oop_met")
    return {
        "deductible_remaining": pl.min_horizontal(
            pl.col("deductible_individual") - pl.col("deductible_met"),
            pl.col("deductible_family") - family_deductible_met,
        )
        .clip(lower_bound=0)
        .fill_null(0),
        "oop_remaining": pl.min_horizontal(
            pl.col("oop_max_individual") - pl.col("oop_met"), pl.col("oop_max_family") - family_oop_met
        )
        .clip(lower_bound=0)
        .fill_null(NO_LIMIT),
        "start_py_start": pl.date(_plan_year(pl.col("start_date")), pl.col("py_month"), pl.col("py_day")),
    }


def _pay_block(
    frame: pl.LazyFrame, count: pl.Expr, ded: pl.Expr, cop: pl.Expr, coi: pl.Expr, pen_paid: pl.Expr
) -> pl.LazyFrame:
    """Charge `count` identical units (deductible, copay, coinsurance each) against the OOP budget.

    Units are paid in full while the budget lasts; the one unit that exhausts it keeps its share cut
    from coinsurance first, then copay (engine.split_share); the rest cost the client nothing.
    """
    share = ded + cop + coi
    budget = pl.col("budget")
    frame = frame.with_columns(
        paid=pl.when(share > 0).then(pl.min_horizontal(count, budget // share)).otherwise(count)
    )
    paid = pl.col("paid")
    left = budget - paid * share
    cut = ((paid < count) & (left > 0)).cast(pl.Int64)
    cut_ded = pl.min_horizontal(ded, left) * cut
    cut_cop = pl.min_horizontal(cop, left - pl.min_horizontal(ded, left)) * cut
    return frame.with_columns(
        deductible=pl.col("deductible") + paid * ded + cut_ded,
        copay=pl.col("copay") + paid * cop + cut_cop,
        coinsurance=pl.col("coinsurance") + paid * coi + (left * cut - cut_ded - cut_cop),
        penalty=pl.col("penalty")
        + paid * pen_paid
        + cut * share_of(pl.col("unit_allowed") - left, "pen_num", "pen_den")
        + (count - paid - cut) * pl.col("pen_allowed"),
        budget=pl.when(paid == count).then(left).otherwise(0),
    )


def price_runs(clients: pl.LazyFrame, runs: pl.LazyFrame) -> pl.LazyFrame:
    """One row per (client scenario, run) with what the client's accumulators make of the run:
    deductible, copay, coinsurance, penalty, and the accumulators after it.

    `clients` rows carry key_id and CLIENT_START_COLUMNS; the join keeps their order and, within
    each, the run order, which the running totals rely on.
    """
    first_year = pl.col("py_idx") == 0
    allowed = pl.col("unit_allowed")
    frame = clients.join(runs, on="key_id", maintain_order="left_right").with_columns(
        ded_left=(
            pl.when(first_year).then(pl.col("deductible_remaining")).otherwise(pl.col("fresh_deductible"))
            - pl.col("deductible_before")
        ).clip(lower_bound=0),
        oop_left=pl.when(first_year).then(pl.col("oop_remaining")).otherwise(pl.col("fresh_oop")),
        deductible_met0=pl.when(first_year).then(pl.col("deductible_met")).otherwise(0),
        oop_met0=pl.when(first_year).then(pl.col("oop_met")).otherwise(0),
    )
    # Block sizes: units wholly inside the deductible, the one that finishes it, the ones past it.
    frame = frame.with_columns(
        full=pl.when(pl.col("takes_deductible"))
        .then(pl.min_horizontal(pl.col("priced_units"), pl.col("ded_left") // allowed))
        .otherwise(0)
    ).with_columns(part_ded=pl.col("ded_left") - pl.col("full") * allowed)
    frame = frame.with_columns(
        part=(
            pl.col("takes_deductible") & (pl.col("full") < pl.col("priced_units")) & (pl.col("part_ded") > 0)
        ).cast(pl.Int64),
        part_copay=pl.min_horizontal(pl.col("unit_copay"), allowed - pl.col("part_ded")),
    ).with_columns(
        zero=pl.col("priced_units") - pl.col("full") - pl.col("part"),
        part_share=pl.col("part_ded")
        + pl.min_horizontal(
            pl.col("part_copay")
            + share_of(allowed - pl.col("part_ded") - pl.col("part_copay"), "coi_num", "coi_den"),
            pl.col("cap"),
        ),
    )
    # The per-unit cap cuts only the finishing unit's copay and coinsurance (engine.per_unit_capped).
    part_ded = pl.min_horizontal(pl.col("part_ded"), pl.col("part_share"))
    part_cop = pl.min_horizontal(pl.col("part_copay"), pl.col("part_share") - part_ded)
    frame = frame.with_columns(part_ded_kept=part_ded, part_cop_kept=part_cop).with_columns(
        uncapped=pl.col("full") * pl.col("full_share")
        + pl.col("part") * pl.col("part_share")
        + pl.col("zero") * pl.col("zero_share"),
    )
    frame = frame.with_columns(
        shares_before=running_total(pl.col("uncapped"), pl.col("first_in_year")) - pl.col("uncapped"),
        **{name: pl.lit(0, pl.Int64) for name in PRICED_COLUMNS},
    ).with_columns(budget=(pl.col("oop_left") - pl.col("shares_before")).clip(lower_bound=0))
    zero = pl.lit(0, pl.Int64)
    frame = _pay_block(frame, pl.col("full"), pl.col("full_share"), zero, zero, pl.col("pen_full"))
    part_coi = pl.col("part_share") - pl.col("part_ded_kept") - pl.col("part_cop_kept")
    frame = _pay_block(
        frame,
        pl.col("part"),
        pl.col("part_ded_kept"),
        pl.col("part_cop_kept"),
        part_coi,
        share_of(allowed - pl.col("part_share"), "pen_num", "pen_den"),
    )
    frame = _pay_block(
        frame, pl.col("zero"), zero, pl.col("zero_copay"), pl.col("zero_coinsurance"), pl.col("pen_zero")
    )
    return frame.with_columns(
        deductible_met_after=pl.col("deductible_met0")
        + running_total(pl.col("deductible"), pl.col("first_in_year")),
        oop_met_after=pl.col("oop_met0")
        + pl.min_horizontal(pl.col("oop_left"), pl.col("shares_before") + pl.col("uncapped")),
    )


def with_derived(frame: pl.LazyFrame) -> pl.LazyFrame:
    """member_cost and plan_paid from the parts (PricedUnit.member_cost_cents; allowed - share - penalty)."""
    share = pl.col("deductible") + pl.col("copay") + pl.col("coinsurance")
    return frame.with_columns(
        member_cost=share + pl.col("penalty") + pl.col("balance_bill") + pl.col("not_covered"),
        plan_paid=pl.col("allowed") - share - pl.col("penalty"),
    )


def scenario_totals(
    clients: pl.LazyFrame, runs: pl.LazyFrame, key_sums: pl.LazyFrame, keep: tuple[str, ...]
) -> pl.LazyFrame:
    """Totals per client scenario, in clients' order with their `keep` columns: the key's fixed part
    plus what the client's own accumulators make of the client-dependent runs."""
    own = (
        price_runs(clients.select(*CARRY, "key_id", *CLIENT_START_COLUMNS), runs)
        .with_columns(
            running_total(pl.col(name), pl.col("first_in_key")).alias(name) for name in PRICED_COLUMNS
        )
        .filter(pl.col("last_in_key"))
        .select(*CARRY, *PRICED_COLUMNS)
    )
    return (
        clients.select(*CARRY, *keep, "key_id")
        .join(own, on=CARRY, how="left", maintain_order="left")
        .join(key_sums, on="key_id", how="left", maintain_order="left")
        .with_columns(
            (pl.col(name).fill_null(0) + pl.col(f"fixed_{name}")).alias(name) for name in PRICED_COLUMNS
        )
        .pipe(with_derived)
        .select(*CARRY, *keep, *TOTAL_COLUMNS)
    )


def scenario_months(
    clients: pl.LazyFrame, runs: pl.LazyFrame, grid: pl.LazyFrame, keep: tuple[str, ...]
) -> pl.LazyFrame:
    """Per client scenario and calendar month: sums, and the accumulator position at month end
    (estimate.monthly: carried over empty months, reset to zero when the plan year turns)."""
    by_month = (
        price_runs(clients.select(*CARRY, "key_id", *CLIENT_START_COLUMNS), runs)
        .group_by(*CARRY, "month_no", maintain_order=True)
        .agg(
            pl.col(*FIXED_COLUMNS, *PRICED_COLUMNS).sum(),
            pl.col("py_start", "deductible_met_after", "oop_met_after").last(),
        )
    )
    first_month = new_segment(*CARRY)
    seed = {
        "py_start": "start_py_start",
        "deductible_met_after": "deductible_met",
        "oop_met_after": "oop_met",
    }
    reset = pl.col("month_end_py_start") != pl.col("py_start")
    return (
        clients.join(grid, on="key_id", maintain_order="left_right")
        .join(by_month, on=[*CARRY, "month_no"], how="left", maintain_order="left")
        .with_columns(pl.col(*FIXED_COLUMNS, *PRICED_COLUMNS).fill_null(0))
        .with_columns(
            pl.when(first_month)
            .then(pl.col(name).fill_null(pl.col(start)))
            .otherwise(pl.col(name))
            .alias(name)
            for name, start in seed.items()
        )
        .with_columns(pl.col(*seed).forward_fill())
        .with_columns(
            plan_year_start=pl.col("month_end_py_start"),
            deductible_met=pl.when(reset).then(0).otherwise(pl.col("deductible_met_after")),
            oop_met=pl.when(reset).then(0).otherwise(pl.col("oop_met_after")),
        )
        .with_columns(
            deductible_remaining=pl.when(pl.col("month_has_limits")).then(
                (pl.col("month_deductible_individual") - pl.col("deductible_met")).clip(lower_bound=0)
            ),
            oop_remaining=(pl.col("month_oop_max_individual") - pl.col("oop_met")).clip(lower_bound=0),
        )
        .pipe(with_derived)
        .select(*CARRY, *keep, "month_no", *TOTAL_COLUMNS, *POSITION_COLUMNS)
    )


def totals_of_months(months: pl.LazyFrame, keep: tuple[str, ...]) -> pl.LazyFrame:
    """Scenario totals as the sum of its months (the monthly run prices every run per client anyway)."""
    return (
        months.group_by(*CARRY, maintain_order=True)
        .agg(pl.col(*keep).first(), pl.col(*FIXED_COLUMNS, *PRICED_COLUMNS).sum())
        .pipe(with_derived)
        .select(*CARRY, *keep, *TOTAL_COLUMNS)
    )
