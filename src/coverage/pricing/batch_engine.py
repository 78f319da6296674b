"""The run-based pricing engine behind `coverage batch`: engine.py's rules as polars expressions.

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

from fractions import Fraction
from typing import get_args

import polars as pl

from coverage.money import Percent
from coverage.pricing.engine import AuthStatus, UnitStatus
from coverage.pricing.parts import AMOUNT_NAMES, COST_PARTS

# Chunks are small and order matters (running totals): the in-memory engine is the faster fit here.
IN_MEMORY = "in-memory"
NO_LIMIT = 1 << 53  # stands in for "no cap" / "no out-of-pocket maximum"; above any sum of cents here
AUTH_CODES: dict[AuthStatus, int] = {"approved": 0, "initial_only": 1, "none": 2}
# engine.UnitStatus as small integers, in its order: priced statuses (covered, penalty) come first.
STATUS_CODES: dict[UnitStatus, int] = {status: code for code, status in enumerate(get_args(UnitStatus))}
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


def key_code() -> pl.Expr:
    """The KEY_COLUMNS packed into one whole number, so rows find their key with a one-column join.

    terms_id < MAX_TERMS, pathway_id < MAX_PATHWAYS (both checked where the ids are made), auth < 4
    and the start date as days from 1970-01-01 plus 2**22 (any year 1 to 9999): 60 bits in all.
    """
    days = pl.col("start_date").cast(pl.Int32).cast(pl.Int64) + _DAYS_WIDTH // 2
    terms_pathway = pl.col("terms_id").cast(pl.Int64) * MAX_PATHWAYS + pl.col("pathway_id").cast(pl.Int64)
    return (terms_pathway * _AUTH_WIDTH + pl.col("auth").cast(pl.Int64)) * _DAYS_WIDTH + days


def fraction_of(percent: Percent) -> tuple[int, int]:
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


def _paid_in_full(budget: pl.Expr, count: pl.Expr, share: pl.Expr) -> pl.Expr:
    """How many of `count` units, each `share`, the out-of-pocket budget pays in full."""
    return pl.when(share > 0).then(pl.min_horizontal(count, budget // share)).otherwise(count)


def _penalty(paid: pl.Expr, cut: pl.Expr, left: pl.Expr, count: pl.Expr, per_paid_unit: pl.Expr) -> pl.Expr:
    """The no-auth penalty of a block: N% of what the plan pays on each unit (nothing on others)."""
    cut_unit = share_of(pl.col("unit_allowed") - left, "pen_num", "pen_den")
    return paid * per_paid_unit + cut * cut_unit + (count - paid - cut) * pl.col("pen_allowed")


def price_runs(clients: pl.LazyFrame, runs: pl.LazyFrame) -> pl.LazyFrame:
    """One row per (client scenario, run) with what the client's accumulators make of the run:
    deductible, copay, coinsurance, penalty, and the accumulators after it.

    A run's priced units form three blocks of identical units: wholly inside the deductible (each
    unit's share is its allowed amount, all deductible), the one unit that finishes it, and past it
    (copay and coinsurance). The out-of-pocket budget pays each block's units in full while it
    lasts; the unit that exhausts it keeps what is left, cut from coinsurance first, then copay
    (engine.split_share); the rest cost the client nothing. Each step is one `with_columns` of
    columns the next ones read, so nothing is computed twice.

    `clients` rows carry key_id and CLIENT_START_COLUMNS; the join keeps their order and, within
    each, the run order, which the running totals rely on.
    """
    col = pl.col
    first_year = col("py_idx") == 0
    allowed = col("unit_allowed")
    takes = col("takes_deductible")
    frame = clients.join(runs, on="key_id", maintain_order="left_right").with_columns(
        ded_left=(
            pl.when(first_year).then(col("deductible_remaining")).otherwise(col("fresh_deductible"))
            - col("deductible_before")
        ).clip(lower_bound=0),
        oop_left=pl.when(first_year).then(col("oop_remaining")).otherwise(col("fresh_oop")),
        deductible_met0=pl.when(first_year).then(col("deductible_met")).otherwise(0),
        oop_met0=pl.when(first_year).then(col("oop_met")).otherwise(0),
    )
    # Block sizes: units wholly inside the deductible, the one that finishes it, the ones past it.
    wholly_inside = pl.min_horizontal(col("priced_units"), col("ded_left") // allowed)
    frame = frame.with_columns(full=pl.when(takes).then(wholly_inside).otherwise(0))
    frame = frame.with_columns(
        part_ded=pl.when(takes & (col("full") < col("priced_units")))
        .then(col("ded_left") - col("full") * allowed)
        .otherwise(0)
    )
    frame = frame.with_columns(
        part=(col("part_ded") > 0).cast(pl.Int64),
        part_copay=pl.min_horizontal(col("unit_copay"), allowed - col("part_ded")),
    )
    # The per-unit cap cuts only the finishing unit's copay and coinsurance (engine.per_unit_capped).
    frame = frame.with_columns(
        zero=col("priced_units") - col("full") - col("part"),
        part_share=col("part_ded")
        + pl.min_horizontal(
            col("part_copay") + share_of(allowed - col("part_ded") - col("part_copay"), "coi_num", "coi_den"),
            col("cap"),
        ),
    )
    frame = frame.with_columns(
        part_ded_kept=pl.min_horizontal(col("part_ded"), col("part_share")),
        uncapped=col("full") * allowed + col("part") * col("part_share") + col("zero") * col("zero_share"),
    )
    frame = frame.with_columns(
        part_cop_kept=pl.min_horizontal(col("part_copay"), col("part_share") - col("part_ded_kept")),
        shares_before=running_total(col("uncapped"), col("first_in_year")) - col("uncapped"),
    )
    # Block 1, wholly inside the deductible: every unit's share is `allowed`, all of it deductible.
    frame = frame.with_columns(budget=(col("oop_left") - col("shares_before")).clip(lower_bound=0))
    frame = frame.with_columns(paid1=_paid_in_full(col("budget"), col("full"), allowed))
    frame = frame.with_columns(left1=col("budget") - col("paid1") * allowed)
    frame = frame.with_columns(cut1=((col("paid1") < col("full")) & (col("left1") > 0)).cast(pl.Int64))
    # Block 2, the unit that finishes the deductible.
    part_share, ded2, cop2 = col("part_share"), col("part_ded_kept"), col("part_cop_kept")
    frame = frame.with_columns(budget2=pl.when(col("paid1") == col("full")).then(col("left1")).otherwise(0))
    frame = frame.with_columns(paid2=_paid_in_full(col("budget2"), col("part"), part_share))
    frame = frame.with_columns(left2=col("budget2") - col("paid2") * part_share)
    frame = frame.with_columns(cut2=((col("paid2") < col("part")) & (col("left2") > 0)).cast(pl.Int64))
    frame = frame.with_columns(cut_ded2=pl.min_horizontal(ded2, col("left2")) * col("cut2"))
    frame = frame.with_columns(
        cut_cop2=pl.min_horizontal(cop2, col("left2") - col("cut_ded2")) * col("cut2"),
        budget3=pl.when(col("paid2") == col("part")).then(col("left2")).otherwise(0),
    )
    # Block 3, past the deductible: copay and coinsurance, no deductible.
    frame = frame.with_columns(paid3=_paid_in_full(col("budget3"), col("zero"), col("zero_share")))
    frame = frame.with_columns(left3=col("budget3") - col("paid3") * col("zero_share"))
    frame = frame.with_columns(cut3=((col("paid3") < col("zero")) & (col("left3") > 0)).cast(pl.Int64))
    frame = frame.with_columns(cut_cop3=pl.min_horizontal(col("zero_copay"), col("left3")) * col("cut3"))
    paid1, paid2, paid3 = col("paid1"), col("paid2"), col("paid3")
    cut1, cut2, cut3 = col("cut1"), col("cut2"), col("cut3")
    left1, left2, left3 = col("left1"), col("left2"), col("left3")
    penalty2 = share_of(allowed - part_share, "pen_num", "pen_den")
    frame = frame.with_columns(
        deductible=paid1 * allowed + left1 * cut1 + paid2 * ded2 + col("cut_ded2"),
        copay=paid2 * cop2 + col("cut_cop2") + paid3 * col("zero_copay") + col("cut_cop3"),
        coinsurance=paid2 * (part_share - ded2 - cop2)
        + (left2 * cut2 - col("cut_ded2") - col("cut_cop2"))
        + paid3 * col("zero_coinsurance")
        + (left3 * cut3 - col("cut_cop3")),
        penalty=_penalty(paid1, cut1, left1, col("full"), pl.lit(0))  # the plan pays nothing inside
        + _penalty(paid2, cut2, left2, col("part"), penalty2)
        + _penalty(paid3, cut3, left3, col("zero"), col("pen_zero")),
    )
    shares_after = pl.min_horizontal(col("oop_left"), col("shares_before") + col("uncapped"))
    return frame.with_columns(
        deductible_met_after=col("deductible_met0") + running_total(col("deductible"), col("first_in_year")),
        oop_met_after=col("oop_met0") + shares_after,
    )


def with_derived(frame: pl.LazyFrame) -> pl.LazyFrame:
    """member_cost and plan_paid from the parts (PricedUnit.member_cost_cents; allowed - share - penalty)."""
    share = pl.col("deductible") + pl.col("copay") + pl.col("coinsurance")
    return frame.with_columns(
        member_cost=share + pl.col("penalty") + pl.col("balance_bill") + pl.col("not_covered"),
        plan_paid=pl.col("allowed") - share - pl.col("penalty"),
    )


def scenario_totals(
    clients: pl.LazyFrame, runs: pl.LazyFrame, key_sums: pl.DataFrame, keep: tuple[str, ...]
) -> pl.LazyFrame:
    """Totals per client scenario, in clients' order with their `keep` columns: what the client's own
    accumulators make of the client-dependent runs, plus the key's fixed part.

    Every key has at least one such run (RunBook adds an empty one), so the last priced row of each
    client scenario is its total and lines up with the client rows; `key_sums` has one row per key
    in key_id order, so the fixed part is a lookup by position. No join back, either way.
    """
    own = (
        price_runs(clients.select("key_id", *CLIENT_START_COLUMNS), runs)
        .with_columns(
            running_total(pl.col(name), pl.col("first_in_key")).alias(name) for name in PRICED_COLUMNS
        )
        .filter(pl.col("last_in_key"))
        .select(*PRICED_COLUMNS)
    )

    def fixed(name: str) -> pl.Expr:
        return pl.lit(key_sums.get_column(name)).gather(pl.col("key_id"))

    return (
        pl.concat([clients.select(*CARRY, *keep, "key_id"), own], how="horizontal")
        .with_columns(
            *((pl.col(name) + fixed(f"fixed_{name}")).alias(name) for name in PRICED_COLUMNS),
            *(fixed(name).alias(name) for name in FIXED_COLUMNS),
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
