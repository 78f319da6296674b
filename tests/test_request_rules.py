"""One table of request rules (coverage.rules): a batch error row and the API's 422 for the same
bad values say the same thing, word for word."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar.testing import TestClient
from tests.conftest import ACME_BATCH_ROW, PLANS_DIR

from coverage.batch import INPUT_COLUMNS, run_batch
from coverage.batch_cells import usd
from coverage.money import format_usd
from coverage.plans import PlanCatalog
from coverage.web import create_app

KEY = {"X-API-Key": "test-staff-key"}
ROW = ACME_BATCH_ROW  # acme-ppo-gold-2026: deductible $1,500 / family $3,000; OOP max $6,000 / family $12,000


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(PLANS_DIR, api_keys=["test-staff-key"])) as test_client:
        yield test_client


def api_body(row: dict[str, str]) -> dict[str, Any]:
    """The same values as an API request: dollars as cents, the rest as they are."""
    body: dict[str, Any] = {"plan_id": row["plan_id"], "start_date": row["start_date"]}
    for column in ("deductible_met", "oop_met", "family_deductible_met", "family_oop_met"):
        if column in row:
            whole, cents = row[column].split(".")
            body[f"{column}_cents"] = int(whole) * 100 + int(cents)
    if "pathway" in row:
        body["pathway"] = row["pathway"]
    return body


def batch_errors(row: dict[str, str], catalog: PlanCatalog) -> list[tuple[str, str]]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=INPUT_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerow(row)
    errors = io.BytesIO()
    run_batch(buffer.getvalue().encode(), io.BytesIO(), errors, catalog=catalog)
    return [(line[2], line[4]) for line in list(csv.reader(io.StringIO(errors.getvalue().decode())))[1:]]


@pytest.mark.parametrize(
    ("changes", "column"),
    [
        ({"deductible_met": "1500.01", "oop_met": "1600.00"}, "deductible_met"),
        ({"oop_met": "6000.01"}, "oop_met"),
        ({"deductible_met": "200.00", "oop_met": "100.00"}, "oop_met"),
        ({"family_deductible_met": "3000.01"}, "family_deductible_met"),
        ({"oop_met": "100.00", "family_oop_met": "12000.01"}, "family_oop_met"),
        (
            {"deductible_met": "500.00", "oop_met": "500.00", "family_deductible_met": "400.00"},
            "family_deductible_met",
        ),
        ({"oop_met": "500.00", "family_oop_met": "499.99"}, "family_oop_met"),
        ({"family_deductible_met": "900.00", "family_oop_met": "800.00"}, "family_oop_met"),
        ({"start_date": "2027-01-04"}, "start_date"),
        ({"start_date": "2025-12-31"}, "start_date"),
        ({"pathway": "iop:8x9"}, "pathway"),
        ({"pathway": "php:3,iop:160"}, "pathway"),
    ],
)
def test_a_batch_error_row_says_what_the_api_says(
    changes: dict[str, str], column: str, client: TestClient, catalog: PlanCatalog
) -> None:
    row = ROW | changes
    response = client.post("/estimates", json=api_body(row), headers=KEY)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"].removesuffix("_cents") == column
    assert batch_errors(row, catalog) == [(column, error["message"])]


def test_the_messages_carry_the_numbers(catalog: PlanCatalog) -> None:
    """One message in full, so the comparison above is not between two blanks."""
    row = ROW | {"deductible_met": "1500.01", "oop_met": "1600.00"}
    assert batch_errors(row, catalog) == [
        ("deductible_met", "$1,500.01 is more than the plan's individual deductible $1,500.00")
    ]


@given(st.integers(min_value=0, max_value=10**15))
def test_usd_in_polars_is_format_usd(cents: int) -> None:
    assert pl.select(usd(pl.lit(cents, pl.Int64))).item() == format_usd(cents)
