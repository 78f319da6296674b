"""The two readings of batch cells (coverage.batch_cells): the plain one, which types cells written
the plain way straight from their text, and the precise one, which strips every cell and reads
every form the rules take. check_cells uses the plain reading first and the precise one for the
rest; for any chunk it must come to exactly what the precise reading alone comes to: the same
rows fine, the same typed values, the same reasons.
"""

from __future__ import annotations

import itertools

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from tests.conftest import ACME_BATCH_ROW
from tests.test_batch import random_rows

from coverage.batch import INPUT_COLUMNS, BatchJob
from coverage.batch_cells import MAX_CENTS, CheckedCells, _read, check_cells, read_precisely
from coverage.money import format_usd, parse_money
from coverage.plans import PlanCatalog

GOOD = dict.fromkeys(INPUT_COLUMNS, "") | ACME_BATCH_ROW
# Cells on either side of "plain", per column: each must read the same both ways.
EDGE_CELLS: dict[str, list[str]] = {
    "client_id": [" x", "x ", "\u00a0x", "\u2003x", "\u0085x", "\u3000x", "\u200bx", "\x1cx", " ", "\t"],
    "plan_id": ["acme-ppo-gold-2026 ", " acme-ppo-gold-2026", "ACME-PPO-GOLD-2026", "no-such-plan", " "],
    "network": [" in", "in\t", "IN", "out", "both", "\u00a0out"],
    "category": ["sud", " mh", "MH", "rx"],
    "start_date": [
        "2026-03-02",
        " 2026-03-02",
        "2026-03-02\n",
        "2026-3-2",
        "02026-3-02",
        "+2026-03-02",
        "2026-02-30",
        "2027-01-04",
        "2025-12-31",
        "٢٠٢٦-٠٣-٠٢",  # Arabic-Indic digits: \d in the date shape, but no calendar date
        "20260302",
    ],
    "deductible_met": [
        "640.86",
        "1.234",
        "1.230",
        "1,234.50",
        "$1,234.50",
        "1500",
        "1500.0",
        ".50",
        "5.",
        "+5.00",
        "-0.00",
        "-5.00",
        "1e3",
        "1E3",
        "0.00",
        "00012.30",
        "1500.00",
        "1500.01",
        "10000000.00",
        "10000000.01",
        "9999999999.99",
        "99999999999.00",
        " 5.00",
        "5.00 ",
        "٥.٠٠",
        "5.5.5",
        "",
        " ",
    ],
    "oop_met": ["", " ", "0.00", "1500.00", "1499.99", "6000.00", "6000.01", "$6,000.00", "6000.000", "1e2"],
    "horizon_weeks": ["", "26", " 26", "26 ", "157", "ten"],
    "pathway": ["", "iop:4", " iop:4", "iop:8x9"],
    "auth_status": ["", "approved", " none", "NONE", "initial_only", "maybe", " "],
    "family_deductible_met": ["", "0.00", "3000.00", "3000.01", " 100.00", "100", "-1.00"],
    "family_oop_met": ["", "0.00", "12000.00", "12000.01", "$500.00", "500.005"],
}


def chunk_of(rows: list[dict[str, str]]) -> pl.DataFrame:
    """Rows as `coverage.batch` hands a chunk to the checks: every cell text, empty cells null."""
    cells = [{name: row.get(name) or None for name in INPUT_COLUMNS} for row in rows]
    frame = pl.DataFrame(cells, schema=dict.fromkeys(INPUT_COLUMNS, pl.String), orient="row")
    return frame.with_row_index("row", offset=1)


def edge_rows() -> list[dict[str, str]]:
    """GOOD with each edge cell in turn, then with pairs of them (amounts against each other)."""
    rows = [GOOD | {column: cell} for column, cells in EDGE_CELLS.items() for cell in cells]
    amounts = ("deductible_met", "oop_met", "family_deductible_met", "family_oop_met")
    for first, second in itertools.combinations(amounts, 2):
        rows += [GOOD | {first: a, second: b} for a in EDGE_CELLS[first][:8] for b in EDGE_CELLS[second][:8]]
    return rows


def both_ways(rows: list[dict[str, str]], catalog: PlanCatalog) -> tuple[CheckedCells, CheckedCells]:
    job = BatchJob(catalog, by_month=False)
    chunk = chunk_of(rows)
    specs = job._specs(chunk)
    return check_cells(chunk, job.cells, specs), read_precisely(chunk, job.cells, specs)


def assert_same_reading(rows: list[dict[str, str]], catalog: PlanCatalog) -> CheckedCells:
    checked, precise = both_ways(rows, catalog)
    assert_frame_equal(checked.valid, precise.valid)
    assert_frame_equal(checked.rejected, precise.rejected)
    return checked


def test_edge_cells_read_the_same_both_ways(catalog: PlanCatalog) -> None:
    checked = assert_same_reading(edge_rows(), catalog)
    assert checked.valid.height > 100 and checked.rejected.height > 100  # both kinds are there


@pytest.mark.parametrize("column", EDGE_CELLS)
def test_one_column_read_precisely_reads_the_same(column: str, catalog: PlanCatalog) -> None:
    """Rows left by the plain reading are read precisely only in the columns that need it (here
    `column`), the others plainly still."""
    assert_same_reading([GOOD, *(GOOD | {column: cell} for cell in EDGE_CELLS[column]), GOOD], catalog)


@pytest.mark.parametrize("seed", range(3))
def test_random_rows_read_the_same_both_ways(seed: int, catalog: PlanCatalog) -> None:
    assert_same_reading(random_rows(seed, 2_000, catalog), catalog)


def test_plain_cells_are_read_plainly_and_others_are_not(catalog: PlanCatalog) -> None:
    """The plain reading vouches for rows written the plain way (else it saves nothing) and for no
    other: the $1,500 deductible met written "1500.00" (plain) or "$1,500.00" (read precisely),
    both fine; "1500.01" is plain but over the plan's $1,500.00 deductible, so not fine."""
    rows = [
        GOOD | {"deductible_met": "1500.00", "oop_met": "1500.00"},
        GOOD | {"deductible_met": "$1,500.00", "oop_met": "1500.00"},
        GOOD | {"deductible_met": "1500.01", "oop_met": "1600.00"},
        GOOD | {"network": " in"},
        GOOD | {"pathway": "iop:4", "auth_status": "none", "family_deductible_met": "100.00"},
    ]
    job = BatchJob(catalog, by_month=False)
    chunk = chunk_of(rows)
    plain = _read(chunk.lazy(), job.cells, job._specs(chunk), precise=()).collect()
    assert plain.get_column("fine").to_list() == [True, False, False, False, True]
    checked = assert_same_reading(rows, catalog)
    assert checked.valid.get_column("row").to_list() == [1, 2, 4, 5]
    # $1,500.00 is 150000 cents either way; the blank family out-of-pocket met of row 5 is the larger
    # of its family deductible met ($100.00) and its out-of-pocket met ($0.00): 10000 cents.
    assert checked.valid.get_column("deductible_met_cents").to_list() == [150_000, 150_000, 0, 0]
    assert checked.valid.row(3, named=True)["family_oop_met_cents"] == 10_000
    assert checked.rejected.get_column("reason_deductible_met").to_list() == [
        "$1,500.01 is more than the plan's individual deductible $1,500.00"
    ]


def _expected_reading(text: str) -> tuple[int | None, str | None]:
    """(cents, None) when the scalar path takes the cell as deductible_met of GOOD's plan (acme PPO
    Gold, individual deductible $1,500.00), else (None, the batch's reason)."""
    if not text.strip():
        return None, "is required"
    try:
        cents = parse_money(text.strip())
    except ValueError as exc:
        for scalar_words, reason in SCALAR_MONEY_REASONS.items():
            if scalar_words in str(exc):
                return None, reason
        raise
    if cents > MAX_CENTS:
        return None, f"must be at most {MAX_CENTS // 100}.00"
    if cents > 150_000:
        return None, f"{format_usd(cents)} is more than the plan's individual deductible $1,500.00"
    return cents, None


SCALAR_MONEY_REASONS = {
    "must not be negative": "must not be negative",
    "must look like": 'must be dollars such as "450.00"',
    "more than two decimal places": "has more than two decimal places",
}


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(st.text(alphabet="0123456789.,$-+e \t٥", max_size=12), min_size=1, max_size=40))
def test_dollar_cells_read_as_parse_money_reads_them(texts: list[str], catalog: PlanCatalog) -> None:
    """Every dollar cell the batch takes, parse_money takes as the same cents; every one it refuses
    (with the batch's words for parse_money's reason), the batch refuses. oop_met is left blank, so
    it is the deductible met and never the reason."""
    checked = assert_same_reading([GOOD | {"deductible_met": text, "oop_met": ""} for text in texts], catalog)
    cents = dict(checked.valid.select("row", "deductible_met_cents").iter_rows())
    reasons = dict(checked.rejected.select("row", "reason_deductible_met").iter_rows())
    for row, text in enumerate(texts, start=1):
        assert (cents.get(row), reasons.get(row)) == _expected_reading(text), text
