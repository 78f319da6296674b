"""The run-based pricing engine behind `coverage batch`: engine.py's rules over polars frames, with
the per-client walk over runs in batch_kernel's compiled loop.

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
  few steps of integer arithmetic per run instead of one row per unit.

Money is integer cents (Int64 columns, int64 in the compiled loops) throughout; rounding is
integer half-up.
"""

from __future__ import annotations

from fractions import Fraction

import polars as pl

from coverage.money import Percent
from coverage.pricing.batch_kernel import STATUS_CODES, RunMatrix
from coverage.pricing.parts import AMOUNT_NAMES, COST_PARTS

# Chunks are small and order matters (running totals): the in-memory engine is the faster fit here.
IN_MEMORY = "in-memory"
NO_LIMIT = 1 << 53  # stands in for "no cap" / "no out-of-pocket maximum"; above any sum of cents here
PRICED_STATUS = STATUS_CODES["penalty_no_auth"]  # a status at most this is priced
KEY_COLUMNS = ("terms_id", "start_date", "pathway_id", "auth")
SCENARIO_ORDER = ("weekly", "iop", "php")
CARRY = ("row", "scenario_order")  # identifies a client scenario through pricing
CLIENT_START_COLUMNS = ("deductible_remaining", "oop_remaining", "deductible_met", "oop_met")
PRICED_COLUMNS = ("deductible", "copay", "coinsurance", "penalty")  # what a client's accumulators change
# Every other part is fixed by the key alone, whatever the client has met.
FIXED_COLUMNS = ("units", "allowed", *(part.name for part in COST_PARTS if part.name not in PRICED_COLUMNS))
MONTH_LIMITS = ("month_has_limits", "month_deductible_individual", "month_oop_max_individual")
POSITION_COLUMNS = ("plan_year_start", "deductible_met", "deductible_remaining", "oop_met", "oop_remaining")
MONEY_COLUMNS = AMOUNT_NAMES
TOTAL_COLUMNS = ("units", *MONEY_COLUMNS)


MAX_TERMS = 1 << 15  # key_code's widths: terms ids, pathway ids, auth codes, days
MAX_PATHWAYS = 1 << 20
_AUTH_WIDTH, _DAYS_WIDTH = 1 << 2, 1 << 23
PATHWAY_STEP = _AUTH_WIDTH * _DAYS_WIDTH  # key_code's step from one pathway id to the next


def key_code(pathway_id: pl.Expr) -> pl.Expr:
    """The KEY_COLUMNS packed into one whole number, so rows find their key with a one-column join.

    terms_id < MAX_TERMS, pathway_id < MAX_PATHWAYS (both checked where the ids are made), auth < 4
    and the start date as days from 1970-01-01 plus 2**22 (any year 1 to 9999): 60 bits in all.
    The code grows by PATHWAY_STEP per pathway id, so a client's code for pathway 0 plus
    `pathway_id * PATHWAY_STEP` is its scenario's code: a client's columns need not be repeated
    per scenario to find the scenario's key. `key_columns` unpacks it.
    """
    days = pl.col("start_date").cast(pl.Int32).cast(pl.Int64) + _DAYS_WIDTH // 2
    terms_pathway = pl.col("terms_id").cast(pl.Int64) * MAX_PATHWAYS + pathway_id.cast(pl.Int64)
    return (terms_pathway * _AUTH_WIDTH + pl.col("auth").cast(pl.Int64)) * _DAYS_WIDTH + days


def key_columns(code: pl.Expr) -> list[pl.Expr]:
    """The KEY_COLUMNS of a key_code."""
    return [
        (code // (PATHWAY_STEP * MAX_PATHWAYS)).cast(pl.Int32).alias("terms_id"),
        (code % _DAYS_WIDTH - _DAYS_WIDTH // 2).cast(pl.Int32).cast(pl.Date).alias("start_date"),
        (code // PATHWAY_STEP % MAX_PATHWAYS).cast(pl.Int32).alias("pathway_id"),
        (code // _DAYS_WIDTH % _AUTH_WIDTH).cast(pl.Int8).alias("auth"),
    ]


def fraction_of(percent: Percent) -> tuple[int, int]:
    exact = Fraction(percent.fraction)
    return exact.numerator, exact.denominator


def share_of(amount: pl.Expr, numerator: str, denominator: str) -> pl.Expr:
    """Percent.of in integers: numerator/denominator of a non-negative amount, rounded half-up."""
    return (2 * pl.col(numerator) * amount + pl.col(denominator)) // (2 * pl.col(denominator))


def new_segment(*columns: str) -> pl.Expr:
    """True on the first row and wherever any of the columns differs from the row before."""
    return pl.any_horizontal(pl.col(name).ne_missing(pl.col(name).shift()) for name in columns)


def plan_year(date: pl.Expr) -> pl.Expr:
    """Calendar year in which the plan year holding `date` began (MonthDay.plan_year_of)."""
    month, day = date.dt.month(), date.dt.day()
    before = (month < pl.col("py_month")) | ((month == pl.col("py_month")) & (day < pl.col("py_day")))
    return date.dt.year().cast(pl.Int32) - before.cast(pl.Int32)


def month_number(date: pl.Expr) -> pl.Expr:
    return date.dt.year().cast(pl.Int32) * 12 + date.dt.month().cast(pl.Int32) - 1


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
        "start_py_start": pl.date(plan_year(pl.col("start_date")), pl.col("py_month"), pl.col("py_day")),
    }


def with_slices(frame: pl.LazyFrame, table: pl.DataFrame, on: str) -> pl.LazyFrame:
    """Each row of `frame` once per row of `table` with the same `on`, with the table's other
    columns: in frame order, then table order. A join that keeps both orders, done by position.

    `table` is sorted by `on`, so a value's rows are one slice of it: a row finds its slice by
    binary search, is repeated once per row of the slice and gathers the table's columns by
    position, about twice as fast as polars' order-keeping join.
    """
    if table.is_empty():  # nothing to repeat (and polars mistypes gathers from an empty literal)
        return frame.join(table.lazy(), on=on)
    sorted_on = pl.lit(table.get_column(on))
    value = pl.col(on)
    slices = pl.int_ranges(
        sorted_on.search_sorted(value, side="left"), sorted_on.search_sorted(value, side="right")
    )
    return (
        frame.with_columns(_position=slices)
        .explode("_position")
        .with_columns(
            pl.lit(table.get_column(name)).gather(pl.col("_position")) for name in table.columns if name != on
        )
        .drop("_position")
    )


def lookup(table: pl.DataFrame, row: pl.Expr, *names: str) -> list[pl.Expr]:
    """Columns of a small table whose row numbers are ids (`row`): a lookup by position, no join."""
    return [pl.lit(table.get_column(name)).gather(row).alias(name) for name in names]


def with_derived(frame: pl.LazyFrame) -> pl.LazyFrame:
    """member_cost and plan_paid from the parts (PricedUnit.member_cost_cents; allowed - share - penalty)."""
    share = pl.col("deductible") + pl.col("copay") + pl.col("coinsurance")
    return frame.with_columns(
        member_cost=share + pl.col("penalty") + pl.col("balance_bill") + pl.col("not_covered"),
        plan_paid=pl.col("allowed") - share - pl.col("penalty"),
    )


def price_runs(clients: pl.DataFrame, runs: pl.DataFrame, matrix: RunMatrix) -> pl.LazyFrame:
    """One row per (client scenario, run): the client's columns, the run's (`runs`: key_id and
    what the caller reads), and what the client's accumulators make of the run (batch_kernel):
    deductible, copay, coinsurance, penalty, and the accumulators after it."""
    priced = matrix.price(clients, per_run=True)
    return pl.concat([with_slices(clients.lazy(), runs, "key_id"), priced.lazy()], how="horizontal")


def scenario_totals(
    clients: pl.DataFrame, matrix: RunMatrix, key_sums: pl.DataFrame, keep: tuple[str, ...]
) -> pl.LazyFrame:
    """Totals per client scenario, in clients' order with their `keep` columns: what the client's own
    accumulators make of the client-dependent runs (summed per client by batch_kernel), plus the
    key's fixed part (`key_sums` has one row per key in key_id order: a lookup by position)."""
    own = matrix.price(clients, per_run=False).select(*PRICED_COLUMNS)

    def fixed(name: str) -> pl.Expr:
        return pl.lit(key_sums.get_column(name)).gather(pl.col("key_id"))

    return (
        pl.concat([clients.lazy().select(*CARRY, *keep, "key_id"), own.lazy()], how="horizontal")
        .with_columns(
            *((pl.col(name) + fixed(f"fixed_{name}")).alias(name) for name in PRICED_COLUMNS),
            *(fixed(name).alias(name) for name in FIXED_COLUMNS),
        )
        .pipe(with_derived)
        .select(*CARRY, *keep, *TOTAL_COLUMNS)
    )


def scenario_months(
    clients: pl.DataFrame, runs: pl.DataFrame, matrix: RunMatrix, grid: pl.LazyFrame, keep: tuple[str, ...]
) -> pl.LazyFrame:
    """Per client scenario and calendar month: sums, and the accumulator position at month end
    (estimate.monthly: carried over empty months, reset to zero when the plan year turns)."""
    run_columns = runs.select("key_id", "month_no", "py_start", *FIXED_COLUMNS)
    by_month = (
        price_runs(clients.select(*CARRY, "key_id", *CLIENT_START_COLUMNS), run_columns, matrix)
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
        clients.lazy()
        .join(grid, on="key_id", maintain_order="left_right")
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
