"""Batch input cells read and checked, chunk by chunk, as polars expressions.

Every cell is read as text and checked against the rules EstimateRequest enforces and the plan
rules of `coverage.rules`; a row that breaks any gets, per input column, a `reason_<column>` in
the words `estimate` uses (a differential test holds them to it).
"""

from __future__ import annotations

import string

import polars as pl

from coverage.estimate import Cents
from coverage.levels import CATEGORIES, NETWORKS
from coverage.pricing.batch_engine import AUTH_CODES
from coverage.pricing.batch_tables import PlanTables
from coverage.rules import (
    FAMILY_AMOUNTS,
    FAMILY_BELOW_OWN,
    FAMILY_OOP_BELOW_DEDUCTIBLE,
    MET_LIMITS,
    OOP_BELOW_DEDUCTIBLE,
    OUTSIDE_EFFECTIVE,
    OVER_LIMIT,
    not_one_of,
)

REQUIRED_COLUMNS = (
    "client_id",
    "plan_id",
    "network",
    "category",
    "start_date",
    "deductible_met",
)
OPTIONAL_COLUMNS = (
    "oop_met",
    "horizon_weeks",
    "pathway",
    "auth_status",
    "family_deductible_met",
    "family_oop_met",
)
MONEY_INPUTS = ("deductible_met", "oop_met", "family_deductible_met", "family_oop_met")
INPUT_COLUMNS = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
MAX_CENTS: int = next(meta.le for meta in Cents.__metadata__)
_DATE_SHAPE = r"^\d{4}-\d{2}-\d{2}$"
_MONEY_SHAPE = r"^(\d*)(?:\.(\d*))?$"  # whole digits, fraction digits


def given(name: str) -> pl.Expr:
    """The stripped cell, or null when it is empty."""
    stripped = pl.col(name).str.strip_chars()
    return pl.when(stripped.str.len_bytes() > 0).then(stripped)


def _text(name: str) -> pl.Expr:
    """The column `_cleaned` holds for a cell: stripped, null when empty."""
    return pl.col(f"{name}_text")


def _first_reason(rules: list[tuple[pl.Expr, pl.Expr | str]]) -> pl.Expr:
    """The message of the first rule whose condition holds, else null."""
    (condition, message), *rest = rules
    chain = pl.when(condition).then(pl.lit(message) if isinstance(message, str) else message)
    for condition, message in rest:
        chain = chain.when(condition).then(pl.lit(message) if isinstance(message, str) else message)
    return chain


def _required(name: str) -> tuple[pl.Expr, str]:
    return _text(name).is_null(), "is required"


def _choice(name: str, allowed: tuple[str, ...]) -> tuple[pl.Expr, str]:
    return ~_text(name).is_in(allowed), not_one_of(allowed)


def usd(cents: pl.Expr) -> pl.Expr:
    """money.format_usd as an expression: 150000 -> "$1,500.00" (non-negative cents)."""
    grouped = (  # thousands separators, placed from the right on the reversed digits
        (cents // 100).cast(pl.String).str.reverse().str.replace_all(r"(\d{3})", "${1},").str.reverse()
    )
    return pl.concat_str(
        pl.lit("$"),
        grouped.str.strip_chars_start(","),
        pl.lit("."),
        (cents % 100).cast(pl.String).str.zfill(2),
    )


def message(template: str, **parts: pl.Expr | str) -> pl.Expr:
    """A coverage.rules message template filled from columns: the words `estimate` uses, per row."""
    pieces: list[pl.Expr] = []
    for literal, name, _, _ in string.Formatter().parse(template):
        if literal:
            pieces.append(pl.lit(literal))
        if name is not None:
            part = parts[name]
            pieces.append(pl.lit(part) if isinstance(part, str) else part)
    return pl.concat_str(pieces)


def _limit_rules() -> dict[str, tuple[pl.Expr, pl.Expr]]:
    """Per amount column, its coverage.rules.MET_LIMITS rule: over the plan's limit."""
    return {
        rule.field: (
            pl.col(f"{rule.field}_cents") > pl.col(rule.limit),
            message(
                OVER_LIMIT,
                met=usd(pl.col(f"{rule.field}_cents")),
                what=rule.what,
                limit=usd(pl.col(rule.limit)),
            ),
        )
        for rule in MET_LIMITS
    }


def _family_rules() -> dict[str, tuple[pl.Expr, pl.Expr]]:
    """Per family amount column, its coverage.rules.FAMILY_AMOUNTS rule: not below the client's own."""
    return {
        rule.family: (
            pl.col(f"{rule.family}_cents") < pl.col(f"{rule.own}_cents"),
            message(
                FAMILY_BELOW_OWN,
                family=usd(pl.col(f"{rule.family}_cents")),
                what=rule.what,
                own=usd(pl.col(f"{rule.own}_cents")),
            ),
        )
        for rule in FAMILY_AMOUNTS
    }


def _money_rules(name: str) -> list[tuple[pl.Expr, pl.Expr | str]]:
    """Why a dollar cell is rejected, in money.parse_money's spirit (from the columns `_cleaned` made)."""
    amount, whole, fraction = (pl.col(f"{name}_{part}") for part in ("amount", "whole", "fraction"))
    return [
        (amount.str.starts_with("-"), "must not be negative"),
        (whole.is_null() | ((whole == "") & (fraction == "")), 'must be dollars such as "450.00"'),
        (fraction.str.slice(2).str.contains("[1-9]"), "has more than two decimal places"),
        (
            (whole.str.strip_chars_start("0").str.len_bytes() > 9) | (pl.col(f"{name}_cents") > MAX_CENTS),
            f"must be at most {MAX_CENTS // 100}.00",
        ),
    ]


def _cleaned(chunk: pl.LazyFrame) -> pl.LazyFrame:
    """Each cell stripped once; dollar cells split into whole and fraction digits and read as cents.

    Staged into columns because every rule below reads them; recomputing per rule is what costs.
    """
    frame = chunk.with_columns(given(name).alias(f"{name}_text") for name in INPUT_COLUMNS)
    frame = frame.with_columns(
        _text(name).str.replace_all(",", "", literal=True).str.strip_prefix("$").alias(f"{name}_amount")
        for name in MONEY_INPUTS
    )
    frame = frame.with_columns(
        pl.col(f"{name}_amount")
        .str.extract_groups(_MONEY_SHAPE)
        .struct.rename_fields([f"{name}_whole", f"{name}_fraction"])
        .struct.unnest()
        for name in MONEY_INPUTS
    )
    frame = frame.with_columns(  # "5" has no fraction: read it as "" so that it is 5.00
        pl.when(pl.col(f"{name}_whole").is_not_null())
        .then(pl.col(f"{name}_fraction").fill_null(""))
        .alias(f"{name}_fraction")
        for name in MONEY_INPUTS
    )
    frame = frame.with_columns(
        (
            pl.col(f"{name}_whole").cast(pl.Int64, strict=False).fill_null(0) * 100
            + pl.col(f"{name}_fraction").str.pad_end(2, "0").str.slice(0, 2).cast(pl.Int64, strict=False)
        ).alias(f"{name}_cents")
        for name in MONEY_INPUTS
    )
    frame = frame.with_columns(_money_shape(name).alias(f"{name}_shape") for name in MONEY_INPUTS)
    # Only well-formed amounts take part in the checks against the plan and each other.
    frame = frame.with_columns(
        pl.when(pl.col(f"{name}_shape").is_null()).then(pl.col(f"{name}_cents")).alias(f"{name}_cents")
        for name in MONEY_INPUTS
    )
    # Blank amounts derived as estimate.starting_accumulators derives them.
    frame = frame.with_columns(
        oop_met_cents=pl.when(_text("oop_met").is_null())
        .then(pl.col("deductible_met_cents"))
        .otherwise(pl.col("oop_met_cents"))
    )
    return frame.with_columns(
        family_oop_met_cents=pl.when(
            _text("family_oop_met").is_null() & pl.col("family_deductible_met_cents").is_not_null()
        )
        .then(pl.max_horizontal("family_deductible_met_cents", "oop_met_cents"))
        .otherwise(pl.col("family_oop_met_cents"))
    )


def _money_shape(name: str) -> pl.Expr:
    """Why a dollar cell cannot be read at all (null when it can, or when an optional one is empty)."""
    blank = _required(name) if name in REQUIRED_COLUMNS else (_text(name).is_null(), pl.lit(None, pl.String))
    return _first_reason([blank, *_money_rules(name)])


Rules = dict[str, list[tuple[pl.Expr, pl.Expr | str]]]


def _joined(chunk: pl.LazyFrame, tables: PlanTables, specs: pl.LazyFrame) -> pl.LazyFrame:
    """The chunk's cells cleaned and typed, with its plan, terms and scenario set joined on."""
    date_text = _text("start_date")
    return (
        _cleaned(chunk)
        .with_columns(
            start=pl.when(date_text.str.contains(_DATE_SHAPE)).then(
                date_text.str.to_date("%Y-%m-%d", strict=False)
            ),
            auth=_text("auth_status")
            .replace_strict(AUTH_CODES, default=None, return_dtype=pl.Int8)
            .fill_null(AUTH_CODES["approved"]),
        )
        .join(
            tables.plans.lazy(), left_on="plan_id_text", right_on="plan_id", how="left", maintain_order="left"
        )
        .join(
            tables.terms.lazy(),
            left_on=["plan_id_text", "network_text", "category_text"],
            right_on=["plan_id", "network", "category"],
            how="left",
            maintain_order="left",
        )
        .join(
            specs,
            on=["horizon_weeks_text", "pathway_text"],
            how="left",
            nulls_equal=True,
            maintain_order="left",
        )
    )


def _rules() -> Rules:
    """Per input column, its rules in order: (broken when, message); the first broken one is the reason."""
    date_text = _text("start_date")

    def money(name: str, *limit_rules: tuple[pl.Expr, pl.Expr | str]) -> list[tuple[pl.Expr, pl.Expr | str]]:
        shape = pl.col(f"{name}_shape")
        return [(shape.is_not_null(), shape), *limit_rules]

    limit_rules, below_own = _limit_rules(), _family_rules()
    return {
        "client_id": [_required("client_id")],
        "plan_id": [
            _required("plan_id"),
            (pl.col("effective_start").is_null(), "no plan with this id is loaded"),
        ],
        "network": [_required("network"), _choice("network", NETWORKS)],
        "category": [_required("category"), _choice("category", CATEGORIES)],
        "start_date": [
            _required("start_date"),
            (~date_text.str.contains(_DATE_SHAPE), "must be a date YYYY-MM-DD"),
            (pl.col("start").is_null(), "is not a calendar date"),
            (
                (pl.col("start") < pl.col("effective_start")) | (pl.col("start") > pl.col("effective_end")),
                message(
                    OUTSIDE_EFFECTIVE,
                    start=pl.col("start").cast(pl.String),
                    effective_start=pl.col("effective_start").cast(pl.String),
                    effective_end=pl.col("effective_end").cast(pl.String),
                ),
            ),
        ],
        "deductible_met": money("deductible_met", limit_rules["deductible_met"]),
        "oop_met": money(
            "oop_met",
            limit_rules["oop_met"],
            (
                pl.col("has_oop_max") & (pl.col("oop_met_cents") < pl.col("deductible_met_cents")),
                OOP_BELOW_DEDUCTIBLE,
            ),
        ),
        "horizon_weeks": [(pl.col("horizon_reason").is_not_null(), pl.col("horizon_reason"))],
        "pathway": [(pl.col("pathway_reason").is_not_null(), pl.col("pathway_reason"))],
        "auth_status": [_choice("auth_status", tuple(AUTH_CODES))],
        "family_deductible_met": money(
            "family_deductible_met", below_own["family_deductible_met"], limit_rules["family_deductible_met"]
        ),
        "family_oop_met": money(
            "family_oop_met",
            below_own["family_oop_met"],
            limit_rules["family_oop_met"],
            (
                pl.col("has_oop_max")
                & (pl.col("family_oop_met_cents") < pl.col("family_deductible_met_cents")),
                FAMILY_OOP_BELOW_DEDUCTIBLE,
            ),
        ),
    }


def checked_cells(chunk: pl.LazyFrame, tables: PlanTables, specs: pl.LazyFrame) -> pl.LazyFrame:
    """The chunk with typed values and `fine`: whether every cell of the row keeps every rule.

    Only the broken-when conditions are evaluated here; the messages (which format dollars and
    dates) are written by `cell_reasons`, for the rows that are not fine alone.
    """
    broken = (condition for rules in _rules().values() for condition, _ in rules)
    return _joined(chunk, tables, specs).with_columns(fine=~pl.any_horizontal(broken).fill_null(False))


def cell_reasons(checked: pl.LazyFrame) -> pl.LazyFrame:
    """`checked` (rows of `checked_cells`) with one `reason_<column>` per input column: the message of
    the cell's first broken rule, null when it keeps them all."""
    rules = _rules()
    return checked.with_columns(_first_reason(rules[name]).alias(f"reason_{name}") for name in INPUT_COLUMNS)
