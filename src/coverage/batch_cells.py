"""Batch input cells read and checked, chunk by chunk, as polars expressions.

Every cell is read as text and checked against the rules EstimateRequest enforces and the plan
rules of `coverage.rules`; a row that breaks any gets, per input column, a `reason_<column>` in
the words `estimate` uses (a differential test holds them to it).

A cell is read one of two ways, under one set of rules. The plain reading types the text of a
cell written the plain way ("640.86", "2026-03-02", "in", no blanks around it), which is what a
large export mostly holds, with a few cheap expressions. The precise reading strips the cell and
takes dollars in every form parse_money takes. A chunk is read plainly first; the rows that
reading cannot vouch for (a cell written another way, or a rule broken) are read again, precisely
in the columns where one of them needs it, which decides and words their reasons. A plain cell
reads the same both ways, so which way typed a row never shows (tests hold the two to it).
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Collection
from dataclasses import dataclass

import polars as pl

from coverage.estimate import Cents
from coverage.levels import CATEGORIES, NETWORKS
from coverage.money import DOLLARS
from coverage.pricing.batch_engine import IN_MEMORY
from coverage.pricing.batch_kernel import AUTH_CODES
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
_PLAIN_MONEY = r"^[0-9]+\.[0-9]{2}$"  # "640.86": dollars as spreadsheets and polars write them
_PLAIN_DECIMAL = pl.Decimal(12, 2)  # reads a plain amount exactly (one too long for it is not plain)
_TERMS_KEYS = ("plan_id", "network", "category")
_NETWORK_ENUM, _CATEGORY_ENUM = pl.Enum(NETWORKS), pl.Enum(CATEGORIES)
# The columns read plainly or precisely (horizon_weeks and pathway are looked up as given: `specs`).
READ_COLUMNS = tuple(name for name in INPUT_COLUMNS if name not in ("horizon_weeks", "pathway"))


def given(name: str) -> pl.Expr:
    """The stripped cell, or null when it is empty."""
    stripped = pl.col(name).str.strip_chars()
    return pl.when(stripped.str.len_bytes() > 0).then(stripped)


def _text(name: str) -> pl.Expr:
    """The column `_read_cells` holds for a cell: its text as read (stripped, null when empty, when
    read precisely)."""
    return pl.col(f"{name}_text")


def _first_reason(rules: list[tuple[pl.Expr, pl.Expr | str]]) -> pl.Expr:
    """The message of the first rule whose condition holds, else null."""
    if not rules:
        return pl.lit(None, pl.String)
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
    """Why a dollar cell is rejected, in money.parse_money's order (from the columns `_read_cells` made)."""
    whole, fraction = (pl.col(f"{name}_{part}") for part in ("whole", "fraction"))
    return [
        (_text(name).str.starts_with("-"), "must not be negative"),
        (whole.is_null(), 'must be dollars such as "450.00"'),
        (fraction.str.slice(2).str.contains("[1-9]"), "has more than two decimal places"),
        (
            (whole.str.strip_chars_start("0").str.len_bytes() > 9) | (pl.col(f"{name}_cents") > MAX_CENTS),
            f"must be at most {MAX_CENTS // 100}.00",
        ),
    ]


def _read_cells(chunk: pl.LazyFrame, precise: Collection[str]) -> pl.LazyFrame:
    """Each read column's text (`_text`) and, for dollar columns, its cents: the columns in `precise`
    read precisely, the others plainly.

    Precisely: the cell stripped; dollars split into whole and fraction digits as money.parse_money
    splits them (its DOLLARS pattern) and read as cents, null unless well-formed (`_shape` says why
    not). Plainly: the cell as given, dollars only as "640.86" (`_plain` says whether a cell is).
    Staged into columns because every rule below reads them; recomputing per rule is what costs.
    """
    money = [name for name in MONEY_INPUTS if name in precise]
    frame = chunk.with_columns(
        (given(name) if name in precise else pl.col(name)).alias(f"{name}_text") for name in READ_COLUMNS
    )
    frame = frame.with_columns(
        *(_plain_cents(_text(name)).alias(f"{name}_cents") for name in MONEY_INPUTS if name not in precise),
        *(
            _text(name)
            .str.extract_groups(f"^{DOLLARS}$")
            .struct.rename_fields([f"{name}_whole", f"{name}_fraction"])
            .struct.unnest()
            for name in money
        ),
    )
    frame = frame.with_columns(
        *(pl.col(f"{name}_whole").str.replace_all(",", "", literal=True) for name in money),
        *(  # "5" has no fraction: read it as "" so that it is 5.00
            pl.when(pl.col(f"{name}_whole").is_not_null())
            .then(pl.col(f"{name}_fraction").fill_null(""))
            .alias(f"{name}_fraction")
            for name in money
        ),
    )
    frame = frame.with_columns(
        (
            pl.col(f"{name}_whole").cast(pl.Int64, strict=False).fill_null(0) * 100
            + pl.col(f"{name}_fraction").str.pad_end(2, "0").str.slice(0, 2).cast(pl.Int64, strict=False)
        ).alias(f"{name}_cents")
        for name in money
    )
    frame = frame.with_columns(_money_shape(name).alias(f"{name}_shape") for name in money)
    # Only well-formed amounts take part in the checks against the plan and each other.
    return frame.with_columns(
        pl.when(pl.col(f"{name}_shape").is_null()).then(pl.col(f"{name}_cents")).alias(f"{name}_cents")
        for name in money
    )


def _money_shape(name: str) -> pl.Expr:
    """Why a dollar cell cannot be read at all (null when it can, or when an optional one is empty)."""
    blank = _required(name) if name in REQUIRED_COLUMNS else (_text(name).is_null(), pl.lit(None, pl.String))
    return _first_reason([blank, *_money_rules(name)])


def _plain_cents(cell: pl.Expr) -> pl.Expr:
    """A dollar cell written plainly ("640.86") in cents, exactly; null for any other."""
    return pl.when(cell.str.contains(_PLAIN_MONEY)).then(
        cell.cast(_PLAIN_DECIMAL, strict=False).to_physical().cast(pl.Int64)
    )


def _date(text: pl.Expr) -> pl.Expr:
    """A YYYY-MM-DD cell as a date; null when it is not one."""
    return pl.when(text.str.contains(_DATE_SHAPE)).then(
        text.str.to_date("%Y-%m-%d", strict=False, cache=False)
    )


def _auth(text: pl.Expr) -> pl.Expr:
    """The auth_status cell as its engine code; approved when empty (or not one: a rule says so)."""
    return text.replace_strict(AUTH_CODES, default=None, return_dtype=pl.Int8).fill_null(
        AUTH_CODES["approved"]
    )


def _with_derived(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Blank amounts derived as estimate.starting_accumulators derives them."""
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


def _with_specs(frame: pl.LazyFrame, specs: pl.DataFrame) -> pl.LazyFrame:
    """The scenario set (or the reasons there is none) of each row's horizon_weeks and pathway cells,
    from `specs`: one row per distinct pair of them in the chunk.

    A chunk with one pair (often: the columns are absent or the same throughout) needs no join; else
    it is joined on those two columns alone (carrying the whole frame costs four times as much).
    """
    keys = ["horizon_weeks", "pathway"]
    if specs.height == 1:
        return frame.with_columns(
            pl.lit(column.item(), column.dtype).alias(column.name) for column in specs.drop(keys)
        )
    found = frame.select(keys).join(
        specs.lazy(), on=keys, how="left", nulls_equal=True, maintain_order="left"
    )
    return pl.concat([frame, found.drop(keys)], how="horizontal")


def _position(cell: pl.Expr, values: pl.Enum) -> pl.Expr:
    """Where the cell's text is among `values`; null when it is none of them."""
    return cell.cast(values, strict=False).to_physical().cast(pl.Int32)


class CellTables:
    """The plan tables as the cell checks read them: a row's plan and terms found by position (from
    its plan, network and category cells), not by joins on text. Made once per PlanTables."""

    def __init__(self, tables: PlanTables) -> None:
        self._plan_ids = pl.Enum(tables.plans.get_column("plan_id"))
        self.plans = tables.plans.drop("plan_id")  # row i: the plan at position i of _plan_ids
        keys = pl.DataFrame(
            list(itertools.product(tables.plans.get_column("plan_id"), NETWORKS, CATEGORIES)),
            schema=dict.fromkeys(_TERMS_KEYS, pl.String),
            orient="row",
        )  # row (plan * networks + network) * categories + category
        self.terms = keys.join(tables.terms, on=_TERMS_KEYS, how="left", maintain_order="left").drop(
            _TERMS_KEYS
        )
        # What a fine row carries on to pricing: its labels, typed cells and its terms.
        amounts = (f"{name}_cents" for name in MONEY_INPUTS)
        self.valid_columns = ("row", "client_id", "start", "auth", "spec_id", *self.terms.columns, *amounts)

    def looked_up(
        self, frame: pl.LazyFrame, plan_id: pl.Expr, network_cell: pl.Expr, category_cell: pl.Expr
    ) -> pl.LazyFrame:
        """`frame` with the columns of its plan and of its terms (null where the cells name none), and
        each cell's `<column>_position` among the plan ids, networks or categories."""
        plan, network, category = (pl.col(f"{name}_position") for name in _TERMS_KEYS)
        frame = frame.with_columns(
            plan_id_position=_position(plan_id, self._plan_ids),
            network_position=_position(network_cell, _NETWORK_ENUM),
            category_position=_position(category_cell, _CATEGORY_ENUM),
        )
        terms = (plan * len(NETWORKS) + network) * len(CATEGORIES) + category
        return frame.with_columns(
            *(pl.lit(column).gather(plan) for column in self.plans.iter_columns()),
            *(pl.lit(column).gather(terms) for column in self.terms.iter_columns()),
        )


Rules = dict[str, list[tuple[pl.Expr, pl.Expr | str]]]


def _form_rules() -> Rules:
    """Per input column, its rules on how the cell is written, in order: (broken when, message)."""
    date_text = _text("start_date")
    money = {
        name: [(pl.col(f"{name}_shape").is_not_null(), pl.col(f"{name}_shape"))] for name in MONEY_INPUTS
    }
    return {
        "client_id": [_required("client_id")],
        "plan_id": [_required("plan_id")],
        "network": [_required("network"), _choice("network", NETWORKS)],
        "category": [_required("category"), _choice("category", CATEGORIES)],
        "start_date": [
            _required("start_date"),
            (~date_text.str.contains(_DATE_SHAPE), "must be a date YYYY-MM-DD"),
            (pl.col("start").is_null(), "is not a calendar date"),
        ],
        "auth_status": [_choice("auth_status", tuple(AUTH_CODES))],
        **money,
    }


def _value_rules() -> Rules:
    """Per input column, its rules on what the typed cell says against the plan and the other cells
    (checked after its form rules): (broken when, message)."""
    limit_rules, below_own = _limit_rules(), _family_rules()
    return {
        "plan_id": [(pl.col("effective_start").is_null(), "no plan with this id is loaded")],
        "start_date": [
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
        "deductible_met": [limit_rules["deductible_met"]],
        "oop_met": [
            limit_rules["oop_met"],
            (
                pl.col("has_oop_max") & (pl.col("oop_met_cents") < pl.col("deductible_met_cents")),
                OOP_BELOW_DEDUCTIBLE,
            ),
        ],
        "horizon_weeks": [(pl.col("horizon_reason").is_not_null(), pl.col("horizon_reason"))],
        "pathway": [(pl.col("pathway_reason").is_not_null(), pl.col("pathway_reason"))],
        "family_deductible_met": [below_own["family_deductible_met"], limit_rules["family_deductible_met"]],
        "family_oop_met": [
            below_own["family_oop_met"],
            limit_rules["family_oop_met"],
            (
                pl.col("has_oop_max")
                & (pl.col("family_oop_met_cents") < pl.col("family_deductible_met_cents")),
                FAMILY_OOP_BELOW_DEDUCTIBLE,
            ),
        ],
    }


def _rules(precise: Collection[str]) -> Rules:
    """Per input column, its rules in order; the first broken one is the cell's reason. A column
    read plainly has no form rules: a plain cell keeps them all (and a row with a cell that is not
    plain is not fine, see `_read`)."""
    form, value = _form_rules(), _value_rules()
    return {
        name: [*(form.get(name, []) if name in precise else []), *value.get(name, [])]
        for name in INPUT_COLUMNS
    }


def _plain(name: str) -> pl.Expr:
    """Whether the plain reading read the column's cell, so that it keeps the column's form rules
    and reads as the precise reading reads it (it has no blanks to strip)."""
    cell = _text(name)
    if name == "client_id":
        return cell.str.contains(r"^\S")  # something is left when it is stripped
    if name in _TERMS_KEYS:
        return pl.col(f"{name}_position").is_not_null()  # exactly a plan id, network or category
    if name == "start_date":
        return pl.col("start").is_not_null()
    if name == "auth_status":
        return cell.is_null() | cell.is_in(AUTH_CODES)
    within = pl.col(f"{name}_cents") <= MAX_CENTS  # null when not plain
    return within if name in REQUIRED_COLUMNS else cell.is_null() | within


def _broken(rules: Rules) -> pl.Expr:
    """Whether any rule is broken (a rule whose condition is null, over a missing value, is not)."""
    return pl.any_horizontal(condition for column in rules.values() for condition, _ in column).fill_null(
        False
    )


def _read(
    chunk: pl.LazyFrame, cells: CellTables, specs: pl.DataFrame, precise: Collection[str]
) -> pl.LazyFrame:
    """The chunk's cells typed (the columns in `precise` read precisely, the others plainly), with
    its plan, terms and scenario set; `<column>_plain` per column read plainly, and `fine`: every
    cell read plainly is plain, and the row breaks no rule."""
    frame = _read_cells(chunk, precise).with_columns(
        start=_date(_text("start_date")), auth=_auth(_text("auth_status"))
    )
    frame = cells.looked_up(_with_derived(frame), *(_text(name) for name in _TERMS_KEYS))
    frame = _with_specs(frame, specs)
    plainly = [name for name in READ_COLUMNS if name not in precise]
    frame = frame.with_columns(_plain(name).alias(f"{name}_plain") for name in plainly)
    fine = ~_broken(_rules(precise))
    if plainly:
        fine = pl.all_horizontal(f"{name}_plain" for name in plainly).fill_null(False) & fine
    return frame.with_columns(fine=fine)


@dataclass(frozen=True)
class CheckedCells:
    """A chunk checked: its fine rows typed (`valid`) and the others with their reasons (`rejected`)."""

    valid: pl.DataFrame  # in row order: CellTables.valid_columns
    rejected: pl.DataFrame  # row, the input cells as given and one reason_<column> per input column


def check_cells(chunk: pl.DataFrame, cells: CellTables, specs: pl.DataFrame) -> CheckedCells:
    """Every row of the chunk checked: read plainly first; the rows that reading does not find fine
    are read again, precisely in each column where one of them has a cell that is not plain (which
    decides whether they are fine, and says why not)."""
    flags = [f"{name}_plain" for name in READ_COLUMNS]
    read = _read(chunk.lazy(), cells, specs, ())
    first = read.select(*cells.valid_columns, *flags, "fine").collect(engine=IN_MEMORY)
    fine = first.get_column("fine")
    if fine.all():
        no_reasons = (pl.lit(None, pl.String).alias(f"reason_{name}") for name in INPUT_COLUMNS)
        return CheckedCells(first.select(cells.valid_columns), chunk.clear().with_columns(no_reasons))
    left = first.filter(~fine)
    precise = [name for name in READ_COLUMNS if not left.get_column(f"{name}_plain").fill_null(False).all()]
    rest = _checked(chunk.filter(~fine), cells, specs, precise)
    valid = first.filter(fine).select(cells.valid_columns).merge_sorted(rest.valid, key="row")
    return CheckedCells(valid, rest.rejected)


def read_precisely(chunk: pl.DataFrame, cells: CellTables, specs: pl.DataFrame) -> CheckedCells:
    """Every row of the chunk checked with every column read precisely: what `check_cells` must
    come to for any chunk."""
    return _checked(chunk, cells, specs, READ_COLUMNS)


def _checked(
    chunk: pl.DataFrame, cells: CellTables, specs: pl.DataFrame, precise: Collection[str]
) -> CheckedCells:
    """The chunk read with the columns in `precise` read precisely, every other cell of it plain."""
    read = _read(chunk.lazy(), cells, specs, precise).collect(engine=IN_MEMORY)
    fine = read.get_column("fine")
    rules = _rules(precise)
    reasons = (_first_reason(rules[name]).alias(f"reason_{name}") for name in INPUT_COLUMNS)
    rejected = read.lazy().filter(~fine).select("row", *INPUT_COLUMNS, *reasons).collect(engine=IN_MEMORY)
    return CheckedCells(read.filter(fine).select(cells.valid_columns), rejected)
