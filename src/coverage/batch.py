"""`coverage batch`: estimates for a whole CSV of clients, priced by batch_engine, identical to `estimate`.

Every cell is read as text and checked here against the rules EstimateRequest, check_dates and
starting_accumulators enforce, so a bad row lands in the errors output with its row number, column
and reason while every other row is priced. The input is read, priced and written chunk by chunk,
so memory follows the chunk size, not the file size.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import polars as pl

from coverage.batch_engine import (
    AUTH_CODES,
    IN_MEMORY,
    MONEY_COLUMNS,
    POSITION_COLUMNS,
    Pathways,
    PlanTables,
    RunBook,
    scenario_months,
    scenario_totals,
    starting_amounts,
    totals_of_months,
)
from coverage.estimate import Cents
from coverage.plans import PlanCatalog

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
DEFAULT_CHUNK_ROWS = 100_000
MAX_CENTS: int = next(meta.le for meta in Cents.__metadata__)
ERROR_COLUMNS = ("row", "client_id", "column", "value", "reason")
TOTALS_HEADER = ("row", "client_id", "scenario", "pathway", "units", *MONEY_COLUMNS)
MONTHLY_HEADER = ("row", "client_id", "scenario", "month", "units", *MONEY_COLUMNS, *POSITION_COLUMNS)
LABELS = ("client_id", "scenario", "pathway")  # carried from a client scenario to its output rows
_DOLLARS = pl.Decimal(38, 2)
# A spreadsheet may start a formula at any of these, or after leading blanks it skips: space,
# LF, NBSP, zero-width space, and the full-width ＝＋－＠ some spreadsheets fold to ASCII.
_FORMULA_START = "^[=+\\-@\t\r\n \u00a0\u200b\uff1d\uff0b\uff0d\uff20]"
_SNIFF_BYTES = 64 * 1024
_COPY_BYTES = 1024 * 1024
_DATE_SHAPE = r"^\d{4}-\d{2}-\d{2}$"
_MONEY_SHAPE = r"^(\d*)(?:\.(\d*))?$"  # whole digits, fraction digits

Source = Path | bytes
Progress = Callable[[int, int], None]


class BatchInputError(ValueError):
    """The input as a whole cannot be used (unreadable, no header, a required column missing)."""

    def __init__(self, message: str, missing_columns: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.missing_columns = missing_columns


@dataclass
class BatchResult:
    """Counts for the summary: input rows, rows priced, rows rejected, rows written."""

    rows: int = 0
    priced_rows: int = 0
    error_rows: int = 0
    output_rows: int = 0
    monthly_rows: int = 0


# --- text in and out -----------------------------------------------------------------------------


def escape_text(text: pl.Expr) -> pl.Expr:
    """Free text for a CSV a spreadsheet will open: a cell that could start a formula gets a leading '."""
    return pl.when(text.str.contains(_FORMULA_START)).then(pl.lit("'") + text).otherwise(text)


def dollars(cents: pl.Expr) -> pl.Expr:
    """Integer cents as an exact two-decimal Decimal, which CSV writes as "1234.50".

    Dividing a whole number of cents by 100 at scale 2 never rounds, so this is exact; it is three
    times faster to write than formatting strings.
    """
    return cents.cast(_DOLLARS) / pl.lit(100, _DOLLARS)


def _month_text(month_no: pl.Expr) -> pl.Expr:
    return pl.concat_str(
        (month_no // 12).cast(pl.String).str.zfill(4),
        pl.lit("-"),
        (month_no % 12 + 1).cast(pl.String).str.zfill(2),
    )


def _empty(header: tuple[str, ...]) -> pl.DataFrame:
    return pl.DataFrame(schema=dict.fromkeys(header, pl.String))


class CsvSink:
    """A CSV written chunk by chunk: the header at once (so an empty result is still a valid file)."""

    def __init__(self, handle: IO[bytes], header: tuple[str, ...]) -> None:
        self._handle = handle
        self.rows = 0
        _empty(header).write_csv(handle)

    def write(self, frame: pl.DataFrame) -> None:
        frame.write_csv(self._handle, include_header=False)
        self.rows += frame.height


# --- reading -------------------------------------------------------------------------------------


def _not_utf8(head: bytes) -> bool:
    """UTF-16 (with or without its byte-order mark) shows as a BOM or NUL bytes in the first block."""
    return head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head


@contextmanager
def readable(source: Source) -> Iterator[Source]:
    """The input as polars can read it: UTF-16 refused by name, CR-only line ends made LF.

    Old Mac-style files end lines with CR alone, which polars reads as one long line (0 rows);
    such an input is copied with CR turned into LF, to a temporary file removed afterwards.
    """
    if isinstance(source, bytes):
        head = source[:_SNIFF_BYTES]
    else:
        try:
            with source.open("rb") as handle:
                head = handle.read(_SNIFF_BYTES)
        except OSError as exc:
            raise BatchInputError(f"input cannot be read ({exc.strerror})") from None
    if _not_utf8(head):
        raise BatchInputError("file must be UTF-8 (this one looks like UTF-16): save it as CSV UTF-8")
    if b"\r" not in head or b"\n" in head:
        yield source
        return
    if isinstance(source, bytes):
        yield source.replace(b"\r", b"\n")
        return
    with tempfile.TemporaryDirectory(prefix="coverage-batch-") as scratch:
        converted = Path(scratch) / "input.csv"
        with source.open("rb") as reading, converted.open("wb") as writing:
            while block := reading.read(_COPY_BYTES):
                writing.write(block.replace(b"\r", b"\n"))
        yield converted


def _clean_names(names: list[str]) -> list[str]:
    return [name.strip().lstrip("\ufeff").strip() for name in names]


def _scan(source: Source) -> pl.LazyFrame:
    return pl.scan_csv(source, infer_schema=False, with_column_names=_clean_names)


def input_columns(source: Source) -> list[str]:
    """The header's column names; BatchInputError when the file has none or cannot be parsed."""
    try:
        return _scan(source).collect_schema().names()
    except (pl.exceptions.PolarsError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BatchInputError(f"input cannot be read as CSV with a header row ({reason})") from None


def check_columns(columns: list[str]) -> None:
    """Stop before any work when a required column is missing, naming it."""
    missing = tuple(name for name in REQUIRED_COLUMNS if name not in columns)
    if missing:
        raise BatchInputError(
            f"input is missing required column{'s' * (len(missing) > 1)} {', '.join(missing)} "
            f"(required: {', '.join(REQUIRED_COLUMNS)}; optional: {', '.join(OPTIONAL_COLUMNS)})",
            missing,
        )


def _chunks(source: Source, columns: list[str], chunk_rows: int) -> Iterator[pl.DataFrame]:
    present = [
        pl.col(name) if name in columns else pl.lit(None, pl.String).alias(name) for name in INPUT_COLUMNS
    ]
    scan = _scan(source).with_row_index("row", offset=1).select("row", *present)
    yield from scan.collect_batches(chunk_size=chunk_rows)


# --- validation ----------------------------------------------------------------------------------


def _given(name: str) -> pl.Expr:
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
    return ~_text(name).is_in(allowed), f"must be one of {', '.join(allowed)}"


def _over_limit(amount: str, limit: str, what: str) -> tuple[pl.Expr, pl.Expr]:
    return (
        pl.col(f"{amount}_cents") > pl.col(limit),
        pl.concat_str(pl.lit(f"is more than the plan's {what} "), dollars(pl.col(limit)).cast(pl.String)),
    )


def _below_individual(family: str, individual: str) -> tuple[pl.Expr, str]:
    return (
        pl.col(f"{family}_cents") < pl.col(f"{individual}_cents"),
        f"is less than {individual}: the family amount includes the client's own",
    )


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
    frame = chunk.with_columns(_given(name).alias(f"{name}_text") for name in INPUT_COLUMNS)
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


def _parsed(chunk: pl.LazyFrame, tables: PlanTables, specs: pl.LazyFrame) -> pl.LazyFrame:
    """The chunk with typed values and one `reason_<column>` per input column (null when the cell is fine)."""
    date_text = _text("start_date")
    frame = (
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

    def money_reason(name: str, *limit_rules: tuple[pl.Expr, pl.Expr | str]) -> pl.Expr:
        return pl.coalesce(pl.col(f"{name}_shape"), _first_reason(list(limit_rules)))

    reasons = {
        "client_id": _first_reason([_required("client_id")]),
        "plan_id": _first_reason(
            [_required("plan_id"), (pl.col("effective_start").is_null(), "no plan with this id is loaded")]
        ),
        "network": _first_reason([_required("network"), _choice("network", ("in", "out"))]),
        "category": _first_reason([_required("category"), _choice("category", ("mh", "sud"))]),
        "start_date": _first_reason(
            [
                _required("start_date"),
                (~date_text.str.contains(_DATE_SHAPE), "must be a date YYYY-MM-DD"),
                (pl.col("start").is_null(), "is not a calendar date"),
                (
                    (pl.col("start") < pl.col("effective_start"))
                    | (pl.col("start") > pl.col("effective_end")),
                    pl.concat_str(
                        pl.lit("is outside the plan's effective period "),
                        pl.col("effective_start").cast(pl.String),
                        pl.lit(" to "),
                        pl.col("effective_end").cast(pl.String),
                    ),
                ),
            ]
        ),
        "deductible_met": money_reason(
            "deductible_met",
            _over_limit("deductible_met", "deductible_individual", "individual deductible"),
        ),
        "oop_met": money_reason(
            "oop_met",
            _over_limit("oop_met", "oop_max_individual", "individual out-of-pocket maximum"),
            (
                pl.col("has_oop_max") & (pl.col("oop_met_cents") < pl.col("deductible_met_cents")),
                "must be at least deductible_met: deductible payments count toward the out-of-pocket maximum",
            ),
        ),
        "horizon_weeks": pl.col("horizon_reason"),
        "pathway": pl.col("pathway_reason"),
        "auth_status": _first_reason([_choice("auth_status", tuple(AUTH_CODES))]),
        "family_deductible_met": money_reason(
            "family_deductible_met",
            _below_individual("family_deductible_met", "deductible_met"),
            _over_limit("family_deductible_met", "deductible_family", "family deductible"),
        ),
        "family_oop_met": money_reason(
            "family_oop_met",
            _below_individual("family_oop_met", "oop_met"),
            _over_limit("family_oop_met", "oop_max_family", "family out-of-pocket maximum"),
            (
                pl.col("has_oop_max")
                & (pl.col("family_oop_met_cents") < pl.col("family_deductible_met_cents")),
                "must be at least family_deductible_met: deductible payments count toward the "
                "out-of-pocket maximum",
            ),
        ),
    }
    return frame.with_columns(reasons[name].alias(f"reason_{name}") for name in INPUT_COLUMNS)


def _problems(parsed: pl.DataFrame) -> pl.DataFrame:
    """One row per bad cell: row number, client_id, column, the cell as given, and why."""
    frames = [
        parsed.filter(pl.col(f"reason_{name}").is_not_null()).select(
            "row",
            escape_text(pl.col("client_id").fill_null("")).alias("client_id"),
            pl.lit(name).alias("column"),
            escape_text(pl.col(name).fill_null("")).alias("value"),
            pl.col(f"reason_{name}").alias("reason"),
        )
        for name in INPUT_COLUMNS
    ]
    return pl.concat(frames).sort("row", maintain_order=True)


def _totals_output(totals: pl.LazyFrame) -> pl.LazyFrame:
    return totals.select(
        "row",
        escape_text(pl.col("client_id")),
        "scenario",
        "pathway",
        "units",
        *(dollars(pl.col(name)).alias(name) for name in MONEY_COLUMNS),
    )


def _months_output(months: pl.LazyFrame) -> pl.LazyFrame:
    return months.select(
        "row",
        escape_text(pl.col("client_id")),
        "scenario",
        _month_text(pl.col("month_no")).alias("month"),
        "units",
        *(dollars(pl.col(name)).alias(name) for name in MONEY_COLUMNS),
        "plan_year_start",
        *(dollars(pl.col(name)).alias(name) for name in POSITION_COLUMNS[1:]),
    )


# --- the job -------------------------------------------------------------------------------------


@dataclass
class ChunkResult:
    """One chunk's output rows, bad cells and counts."""

    totals: pl.DataFrame
    months: pl.DataFrame | None
    problems: pl.DataFrame
    rows: int
    priced_rows: int


class BatchJob:
    """Plan tables, parsed pathways and per-key runs, shared by every chunk of one input."""

    def __init__(self, catalog: PlanCatalog, by_month: bool) -> None:
        self.tables = PlanTables.from_catalog(catalog)
        self.pathways = Pathways()
        self.runs = RunBook(self.tables, self.pathways, by_month)

    def _specs(self, chunk: pl.DataFrame) -> pl.LazyFrame:
        """Scenario set per distinct (horizon_weeks, pathway) pair: parsed once each, never per row."""
        pairs = chunk.select(_given("horizon_weeks"), _given("pathway")).unique()
        rows = []
        for horizon_text, pathway_text in pairs.iter_rows():
            resolved = self.pathways.resolve(horizon_text, pathway_text)
            errors = dict(resolved.errors)
            rows.append(
                {
                    "horizon_weeks_text": horizon_text,
                    "pathway_text": pathway_text,
                    "spec_id": resolved.spec_id,
                    "horizon_reason": errors.get("horizon_weeks"),
                    "pathway_reason": errors.get("pathway"),
                }
            )
        schema = {
            "horizon_weeks_text": pl.String,
            "pathway_text": pl.String,
            "spec_id": pl.Int32,
            "horizon_reason": pl.String,
            "pathway_reason": pl.String,
        }
        return pl.DataFrame(rows, schema=schema).lazy()

    def process(self, chunk: pl.DataFrame) -> ChunkResult:
        parsed = _parsed(chunk.lazy(), self.tables, self._specs(chunk)).collect(engine=IN_MEMORY)
        fine = pl.all_horizontal(pl.col(f"reason_{name}").is_null() for name in INPUT_COLUMNS)
        valid = parsed.filter(fine)
        problems = _problems(parsed.filter(~fine))
        if valid.is_empty():  # nothing to price (and perhaps no key built yet)
            no_months = _empty(MONTHLY_HEADER) if self.runs.by_month else None
            return ChunkResult(_empty(TOTALS_HEADER), no_months, problems, chunk.height, 0)
        clients = self._client_scenarios(valid).lazy()
        months = None
        if self.runs.by_month:
            months = scenario_months(clients, self.runs.runs, self.runs.months, LABELS).collect(
                engine=IN_MEMORY
            )
            totals = totals_of_months(months.lazy(), LABELS)
        else:
            totals = scenario_totals(clients, self.runs.runs, self.runs.key_sums, LABELS)
        return ChunkResult(
            totals=_totals_output(totals).collect(engine=IN_MEMORY),
            months=None if months is None else _months_output(months.lazy()).collect(engine=IN_MEMORY),
            problems=problems,
            rows=chunk.height,
            priced_rows=valid.height,
        )

    def _client_scenarios(self, valid: pl.DataFrame) -> pl.DataFrame:
        """One row per valid client and scenario, with its key_id and starting amounts, in output order."""
        frame = valid.select(
            "row",
            "client_id",
            "terms_id",
            pl.col("start").alias("start_date"),
            "spec_id",
            "auth",
            "py_month",
            "py_day",
            "has_limits",
            "deductible_individual",
            "deductible_family",
            "oop_max_individual",
            "oop_max_family",
            deductible_met=pl.col("deductible_met_cents"),
            oop_met=pl.col("oop_met_cents"),
            family_deductible_met=pl.col("family_deductible_met_cents"),  # null when the cell is empty
            family_oop_met=pl.col("family_oop_met_cents"),
        ).join(self.pathways.scenarios(), on="spec_id", maintain_order="left_right")
        return self.runs.with_key_ids(frame).with_columns(**starting_amounts())


def run_batch(
    source: Source,
    output: IO[bytes],
    errors: IO[bytes],
    *,
    catalog: PlanCatalog,
    monthly: IO[bytes] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Progress | None = None,
) -> BatchResult:
    """Price every valid row of `source` into `output` (and `monthly`), bad cells into `errors`."""
    with readable(source) as usable:
        return _run_batch(usable, output, errors, catalog, monthly, chunk_rows, progress)


def _run_batch(
    source: Source,
    output: IO[bytes],
    errors: IO[bytes],
    catalog: PlanCatalog,
    monthly: IO[bytes] | None,
    chunk_rows: int,
    progress: Progress | None,
) -> BatchResult:
    columns = input_columns(source)
    check_columns(columns)
    job = BatchJob(catalog, by_month=monthly is not None)
    totals_sink = CsvSink(output, TOTALS_HEADER)
    errors_sink = CsvSink(errors, ERROR_COLUMNS)
    monthly_sink = CsvSink(monthly, MONTHLY_HEADER) if monthly is not None else None
    result = BatchResult()
    try:
        total = _scan(source).select(pl.len()).collect(engine=IN_MEMORY).item()
        for chunk in _chunks(source, columns, chunk_rows):
            done = job.process(chunk)
            totals_sink.write(done.totals)
            errors_sink.write(done.problems)
            if monthly_sink is not None and done.months is not None:
                monthly_sink.write(done.months)
            result.rows += done.rows
            result.priced_rows += done.priced_rows
            result.error_rows += done.rows - done.priced_rows
            if progress is not None:
                progress(result.rows, total)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        reason = str(exc).splitlines()[0]
        raise BatchInputError(
            f"input stops being valid CSV at or after data row {result.rows + 1} ({reason}); "
            "the rows before it were written"
        ) from None
    result.output_rows = totals_sink.rows
    result.monthly_rows = monthly_sink.rows if monthly_sink is not None else 0
    return result
