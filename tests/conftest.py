"""Shared test helpers: the bundled catalog and small hand-written plans."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, closing
from pathlib import Path

import psycopg
import pytest
from tests.postgres_server import PostgresServer, Unavailable, throwaway_server

from coverage.estimate import Estimate, EstimateRequest, estimate_for_plan
from coverage.plans import LoadedPlan, PlanCatalog, load_catalog, parse_plan
from coverage.stores.database import Database, is_postgres_url, open_database

REPO = Path(__file__).resolve().parents[1]
PLANS_DIR = REPO / "plans"
# One made-up member's eligibility inquiry (no real person), shared by the verification tests.
INQUIRY_FIELDS = {
    "payer_id": "ACMEH",
    "member_id": "ZZA123456789",
    "first_name": "Jane",
    "last_name": "Doe",
    "date_of_birth": "1990-02-15",
    "date_of_service": "2026-03-02",
    "provider_npi": "1234567893",
    "provider_name": "Sample Behavioral Health",
}


@pytest.fixture(scope="session", autouse=True)
def private_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """COVERAGE_DB in a temporary folder, so login sessions never land in the work tree's var/."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COVERAGE_DB", str(tmp_path_factory.mktemp("db") / "coverage.sqlite"))
        yield


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the session. Where none can start, its tests skip
    saying why; in CI (CI=true) they fail instead, so a green CI means they ran."""
    with ExitStack() as stack:
        try:
            server = stack.enter_context(throwaway_server())
        except Unavailable as exc:
            if os.environ.get("CI"):
                pytest.fail(f"the PostgreSQL tests must run in CI: {exc}")
            pytest.skip(f"PostgreSQL tests skipped: {exc}")
        yield server


@pytest.fixture(params=["sqlite", "postgres"])
def db_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each backend: an SQLite file path or a PostgreSQL URL."""
    if request.param == "sqlite":
        return str(tmp_path / "coverage.sqlite")
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.new_database()


@pytest.fixture
def database(db_target: str) -> Iterator[Database]:
    """Every store over the fresh database of each backend (the same tests run on both)."""
    with open_database(db_target) as opened:
        yield opened


def raw_execute(target: str, *statements: str) -> list[tuple[object, ...]]:
    """Run SQL on the database at `target` with the bare driver (no migrations); the last
    statement's rows."""
    if is_postgres_url(target):
        with psycopg.connect(target, autocommit=True) as connection:
            cursors = [connection.execute(statement) for statement in statements]
            return cursors[-1].fetchall() if cursors[-1].description else []
    with closing(sqlite3.connect(target, isolation_level=None)) as connection:
        rows = [connection.execute(statement).fetchall() for statement in statements]
        return rows[-1]


@pytest.fixture(scope="session")
def catalog() -> PlanCatalog:
    return load_catalog(PLANS_DIR)


PLAN_HEAD = """
id = "test-plan"
name = "Test Plan"
payer = "Test"
kind = "{kind}"
plan_year_start = "{plan_year_start}"
effective = {{ start = "2026-01-01", end = "2026-12-31" }}
"""


def make_plan(body: str, kind: str = "commercial", plan_year_start: str = "01-01") -> LoadedPlan:
    """A plan from the TOML tables in `body` (accumulators and benefits) with a fixed header."""
    text = PLAN_HEAD.format(kind=kind, plan_year_start=plan_year_start) + body
    return parse_plan(text, "test-plan.toml")


def run(loaded: LoadedPlan, **request_fields: object) -> Estimate:
    fields: dict[str, object] = {"plan_id": loaded.plan.id, "start_date": dt.date(2026, 3, 2)}
    fields.update(request_fields)
    request = EstimateRequest(**fields)  # type: ignore[arg-type]
    return estimate_for_plan(loaded, request)


# One good batch row (acme-ppo-gold-2026, in network, MH, nothing met): tests change a cell or two.
ACME_BATCH_ROW = {
    "client_id": "ok",
    "plan_id": "acme-ppo-gold-2026",
    "network": "in",
    "category": "mh",
    "start_date": "2026-03-02",
    "deductible_met": "0.00",
    "oop_met": "0.00",
}
