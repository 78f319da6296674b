"""Runs per key: a key's units compressed into runs of identical units, built once and cached.

A *key* is (plan terms, start date, one scenario's pathway, auth assumption); see
`coverage.pricing.batch_engine` for why runs make a client a few rows of arithmetic.
"""

from __future__ import annotations

import polars as pl

from coverage.levels import LEVEL_ORDER
from coverage.pricing.batch_engine import (
    CLIENT_START_COLUMNS,
    FIXED_COLUMNS,
    IN_MEMORY,
    KEY_COLUMNS,
    MAX_PATHWAYS,
    MONTH_LIMITS,
    NO_LIMIT,
    PRICED_COLUMNS,
    PRICED_STATUS,
    STATUS_CODES,
    key_columns,
    lookup,
    month_number,
    new_segment,
    plan_year,
    share_of,
)
from coverage.pricing.batch_kernel import RUN_INPUTS, RunMatrix, key_runs
from coverage.pricing.batch_tables import Pathways, PlanTables, schedule_units


def key_runs_of(keys: pl.DataFrame, units: pl.DataFrame, tables: PlanTables, by_month: bool) -> pl.DataFrame:
    """Each key's consecutive identical units (same plan year, level, status, and month when months
    are reported) as one run each, in key order then date order: batch_kernel's run builder over
    `units` (dated, sorted by `pair`, the key's (start date, pathway)), its plan-year start and
    month read off a run's first unit."""
    pairs = pl.lit(units.get_column("pair"))
    keys = keys.with_columns(
        first_unit=pairs.search_sorted(pl.col("pair"), side="left"),
        end_unit=pairs.search_sorted(pl.col("pair"), side="right"),
    )
    date = pl.col("date")
    units = units.with_columns(
        year=date.dt.year(), month=date.dt.month(), day=date.dt.day(), month_no=month_number(date)
    )
    runs = key_runs(keys, units, tables.renewals, tables.benefits, len(LEVEL_ORDER), by_month)

    def of_key(name: str) -> pl.Expr:
        return pl.lit(keys.get_column(name)).gather(pl.col("key"))

    def of_unit(name: str) -> pl.Expr:
        return pl.lit(units.get_column(name)).gather(pl.col("unit"))

    return runs.select(
        of_key("key_id"),
        pl.col("terms_id").cast(pl.Int32),
        of_unit("level"),
        pl.col("status").cast(pl.Int8),
        pl.col("py_idx").cast(pl.Int32),
        py_start=pl.date(of_key("start_py_year") + pl.col("py_idx"), of_key("py_month"), of_key("py_day")),
        month_no=of_unit("month_no"),
        units="units",
    )


def _unit_benefits(tables: PlanTables) -> pl.LazyFrame:
    """Benefits per (terms, level), per-unit amounts named apart from the run totals built from them."""
    return tables.benefits.lazy().rename({"allowed": "unit_allowed", "copay": "unit_copay"})


def _run_constants(runs: pl.LazyFrame, tables: PlanTables) -> pl.LazyFrame:
    """Everything about a run that does not depend on a client: per-unit shares past the deductible,
    the deductible the earlier runs of its plan year can take, the amounts of units never priced."""
    priced = pl.col("status") <= PRICED_STATUS
    n, allowed, cap = pl.col("units"), pl.col("unit_allowed"), pl.col("cap")
    status = pl.col("status")
    penalized = status == STATUS_CODES["penalty_no_auth"]
    denied = status == STATUS_CODES["denied_no_auth"]
    takes_deductible = priced & pl.col("deductible_applies") & (allowed > 0)
    # A unit takes min(allowed, remaining); the per-unit cap never cuts the deductible.
    deductible_take = pl.when(takes_deductible).then(n * allowed).otherwise(0)
    not_covered_each = (
        pl.when(status == STATUS_CODES["not_covered"])
        .then(pl.col("default_self_pay"))
        .when((status == STATUS_CODES["over_visit_limit"]) | (denied & ~pl.col("in_network")))
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
            pen_zero=share_of(allowed - pl.col("zero_share"), "pen_num", "pen_den"),
        )
        .with_columns(zero_coinsurance=pl.col("zero_share") - pl.col("zero_copay"))
        .with_columns(_year_starts())
        .select(*_RUN_COLUMNS)
    )


def _year_starts() -> pl.Expr:
    """Where a key's plan years start (the running totals restart); recomputed whenever runs are
    filtered."""
    return new_segment("key_id", "py_idx").alias("first_in_year")


# What a run carries: where it falls, what the pricing loop reads, and the parts fixed by the key.
_RUN_COLUMNS = ("key_id", "py_start", "month_no", *RUN_INPUTS, *FIXED_COLUMNS)


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
        self._keys = pl.DataFrame(schema={**key_schema, "key_code": pl.Int64, "key_id": pl.Int64})
        # Each grows by one concat per batch of new keys (under the caller's lock), never per chunk.
        self._runs: pl.DataFrame | None = None
        self._matrix: RunMatrix | None = None
        self._key_sums: pl.DataFrame | None = None  # one row per key, in key_id order: 0, 1, 2, ...
        self._months: pl.DataFrame | None = None

    @property
    def runs(self) -> pl.DataFrame:
        """Runs to price per client, sorted by key_id: all of them for months, the client-dependent
        ones for totals."""
        assert self._runs is not None, "no key has been added yet"
        return self._runs

    @property
    def matrix(self) -> RunMatrix:
        """`runs` as batch_kernel reads them."""
        assert self._matrix is not None, "no key has been added yet"
        return self._matrix

    @property
    def key_sums(self) -> pl.DataFrame:
        """Per key (row key_id), the part of its totals no client money changes (`_key_sums`)."""
        assert self._key_sums is not None, "no key has been added yet"
        return self._key_sums

    @property
    def key_count(self) -> int:
        return self._keys.height

    @property
    def months(self) -> pl.LazyFrame:
        assert self._months is not None, "no key has been added yet"
        return self._months.lazy()

    def with_key_ids(self, wanted: pl.DataFrame) -> pl.DataFrame:
        """`wanted` with its key_code replaced by the key's key_id; keys not seen before (looked for
        only when some code is not found) get their runs first."""
        found = self._found(wanted)
        if found.get_column("key_id").null_count():
            new = found.filter(pl.col("key_id").is_null()).select(pl.col("key_code").unique())
            new = new.select(*key_columns(pl.col("key_code")), "key_code").sort(KEY_COLUMNS)
            self._add(new.with_row_index("key_id", offset=self._keys.height))
            found = self._found(wanted)
        return found.drop("key_code")

    def _found(self, wanted: pl.DataFrame) -> pl.DataFrame:
        """`wanted` with the key_id of its key_code (null for a key not built yet)."""
        codes = self._keys.select("key_code", "key_id")
        return wanted.join(codes, on="key_code", how="left", maintain_order="left")

    def _add(self, new: pl.DataFrame) -> None:
        new = new.with_columns(pl.col("key_id").cast(pl.Int64)).select(*KEY_COLUMNS, "key_code", "key_id")
        keys = new.lazy()
        terms = self._tables.terms.lazy().select("terms_id", "py_month", "py_day")
        units = schedule_units(
            keys.select("start_date", "pathway_id").unique(), self._pathways.phases().lazy()
        )
        dated_keys = new.with_columns(
            lookup(self._tables.terms, pl.col("terms_id"), "py_month", "py_day")
        ).select(
            "key_id",
            "terms_id",
            "auth",
            "py_month",
            "py_day",
            pair=_pair_code(),
            start_py_year=plan_year(pl.col("start_date")),
        )
        dated_units = units.with_columns(pair=_pair_code()).collect(engine=IN_MEMORY)
        runs = _run_constants(
            key_runs_of(dated_keys, dated_units, self._tables, self.by_month).lazy(), self._tables
        ).collect(engine=IN_MEMORY)
        if self.by_month:
            self._runs = _grown(self._runs, runs)
            self._months = _grown(self._months, self._month_grid(keys, terms).collect(engine=IN_MEMORY))
        else:
            own = (pl.col("py_idx") == 0) & (pl.col("priced_units") > 0)
            self._runs = _grown(self._runs, runs.filter(own).with_columns(_year_starts()))
            sums = _key_sums(new, runs, runs.filter(~own).with_columns(_year_starts()))
            self._key_sums = _grown(self._key_sums, sums)
        self._matrix = RunMatrix(self._runs, self._keys.height + new.height)
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
            .with_columns(month_no=pl.int_ranges(month_number(pl.col("start_date")), month_number(end) + 1))
            .explode("month_no")
            .with_columns(
                month_end=month_end,
                month_end_py_start=pl.date(plan_year(month_end), pl.col("py_month"), pl.col("py_day")),
            )
            .pipe(_terms_on, self._tables.renewals.lazy(), pl.col("month_end"))
            .join(limits, on="terms_id")
            .select("key_id", "month_no", "month_end_py_start", *MONTH_LIMITS)
        )


def _grown(kept: pl.DataFrame | None, new: pl.DataFrame) -> pl.DataFrame:
    """`kept` with `new`'s rows after it, in one chunk (pricing gathers from it by position)."""
    return new if kept is None else pl.concat([kept, new], rechunk=True)


def _pair_code() -> pl.Expr:
    """(start_date, pathway_id) as one whole number, ordered as the pair is."""
    return pl.col("start_date").cast(pl.Int64) * MAX_PATHWAYS + pl.col("pathway_id")


def _terms_on(frame: pl.LazyFrame, renewals: pl.LazyFrame, day: pl.Expr) -> pl.LazyFrame:
    """`terms_id` replaced by the terms that price `day` (the key's plan, or a successor's)."""
    return (
        frame.join(renewals, on="terms_id", maintain_order="left_right")
        .filter((day >= pl.col("valid_from")) & (day <= pl.col("valid_to")))
        .drop("terms_id", "valid_from", "valid_to")
        .rename({"unit_terms_id": "terms_id"})
    )


def _key_sums(keys: pl.DataFrame, runs: pl.DataFrame, fixed_runs: pl.DataFrame) -> pl.DataFrame:
    """Per key of `keys` (in key_id order), the part of every client's totals their own accumulators
    cannot change: the amounts of every run that are fixed anyway, plus the pricing of the runs no
    client money reaches (later plan years start from zero), priced once for a stand-in client."""
    stand_in = keys.select("key_id", *(pl.lit(0, pl.Int64).alias(name) for name in CLIENT_START_COLUMNS))
    key_count = keys.get_column("key_id").max() + 1  # type: ignore[operator]
    fixed_pricing = RunMatrix(fixed_runs, key_count).price(stand_in, per_run=False)
    fixed = runs.group_by("key_id").agg(pl.col(FIXED_COLUMNS).sum())
    return (
        pl.concat([stand_in.select("key_id"), fixed_pricing.select(PRICED_COLUMNS)], how="horizontal")
        .rename({name: f"fixed_{name}" for name in PRICED_COLUMNS})
        .join(fixed, on="key_id", how="left", maintain_order="left")
    )
