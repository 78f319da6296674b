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


def scenario_totals(clients: pl.LazyFrame, runs: pl.LazyFrame, keep: tuple[str, ...]) -> pl.LazyFrame:
    """Totals per client scenario, in clients' order with their `keep` columns: what the client's own
    accumulators make of the client-dependent runs, plus the key's fixed part.

    Every key has at least one such run (RunBook adds an empty one) and its last run carries the
    key's fixed part (`key_*`), so the last priced row of each client scenario is its total and
    lines up with the client rows: no join back.
    """
    own = (
        price_runs(clients.select("key_id", *CLIENT_START_COLUMNS), runs)
        .with_columns(
            running_total(pl.col(name), pl.col("first_in_key")).alias(name) for name in PRICED_COLUMNS
        )
        .filter(pl.col("last_in_key"))
        .select(
            *((pl.col(name) + pl.col(f"key_{name}")).alias(name) for name in PRICED_COLUMNS),
            *(pl.col(f"key_{name}").alias(name) for name in FIXED_COLUMNS),
        )
    )
    return (
        pl.concat([clients.select(*CARRY, *keep), own], how="horizontal")
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
