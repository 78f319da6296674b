"""VOB records in every backend (SQLite and PostgreSQL, the same tests): migrations, save/get
round trip, newest-first pages; SQLite's WAL mode."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from tests.conftest import INQUIRY_FIELDS, raw_execute

from coverage.eligibility.benefits import VerificationResult
from coverage.eligibility.client import interpret
from coverage.eligibility.inquiry import EligibilityRequest, build_request
from coverage.stores import postgres, sqlite
from coverage.stores.database import Database, configured_target, open_database
from coverage.stores.sql import StoreError, schema_version
from coverage.stores.sqlite import MIGRATIONS, SqliteVerificationStore

DATA = Path(__file__).parent / "data" / "eligibility"
FIELDS = INQUIRY_FIELDS


def request_for(**changes: str) -> EligibilityRequest:
    return build_request(FIELDS | changes, today=dt.date(2026, 3, 1))


def result_from(name: str) -> VerificationResult:
    answer = httpx.Response(200, content=(DATA / name).read_bytes())
    return interpret(answer, attempts=1, control_number="000000042", timeout_s=15)


def test_both_backends_number_their_migrations_alike() -> None:
    # Version n is the same schema on both: 1 verifications, 2 the inactive outcome, 3 sessions,
    # 4 previous_id ("Verify again"), 5 issued Good Faith Estimates.
    assert len(sqlite.MIGRATIONS) == len(postgres.MIGRATIONS) == 5


def test_new_database_is_migrated_to_the_latest_version(database: Database, db_target: str) -> None:
    assert schema_version(database.backend) == len(MIGRATIONS) == 5
    with open_database(db_target) as again:  # opening again applies nothing twice
        assert schema_version(again.backend) == 5
    assert raw_execute(db_target, "SELECT count(*) FROM schema_version") == [(1,)]


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    store = SqliteVerificationStore(tmp_path / "nested" / "vob.sqlite")
    assert store.journal_mode() == "wal"


def test_a_database_from_before_the_first_migration_is_brought_forward(db_target: str) -> None:
    raw_execute(
        db_target,
        "CREATE TABLE schema_version (version INTEGER NOT NULL)",
        "INSERT INTO schema_version VALUES (0)",
    )
    with open_database(db_target) as database:
        assert schema_version(database.backend) == 5
        saved = database.verifications.save(request_for(), result_from("deductible_remaining.json"), "i-1")
        assert saved == 1


def test_a_database_from_a_newer_program_is_refused(database: Database, db_target: str) -> None:
    database.verifications.list_recent()  # opens and migrates
    database.close()
    raw_execute(db_target, "UPDATE schema_version SET version = 99")
    with (
        open_database(db_target) as newer,
        pytest.raises(StoreError, match="schema version 99, newer than this program understands"),
    ):
        newer.verifications.list_recent()


def test_save_and_get_round_trip_every_field(database: Database) -> None:
    store = database.verifications
    request, result = request_for(), result_from("deductible_remaining.json")
    when = dt.datetime(2026, 3, 2, 15, 30, tzinfo=dt.UTC)
    record_id = store.save(request, result, " intake-1 ", plan_id="summit-hdhp-hsa-2026", now=when)
    record = store.get(record_id)
    assert record is not None
    assert (record.id, record.created_at, record.performed_by, record.plan_id) == (
        record_id,
        when,
        "intake-1",
        "summit-hdhp-hsa-2026",
    )
    assert (record.outcome, record.message, record.control_number, record.trace_number) == (
        "verified",
        "benefits verified",
        "000000042",
        "TRN-DED-0002",
    )
    assert (record.http_status, record.attempts, record.rejections) == (200, 1, [])
    assert record.request == request
    assert record.raw_response == (DATA / "deductible_remaining.json").read_text()
    assert record.benefits == result.benefits
    assert record.benefits is not None
    office = record.benefits.level("mh", "op", "in")
    assert office.coinsurance == Decimal("0.2")  # exact decimal survives JSON storage
    assert office.deductible_individual is not None
    assert office.deductible_individual.met_cents == 111255
    assert store.get(record_id + 1) is None


def test_list_is_newest_first_and_paginated(database: Database) -> None:
    store = database.verifications
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    names = ["Ana", "Ben", "Cy", "Di", "Zoë"]  # a name beyond ASCII comes back as typed
    for minutes, name in enumerate(names):
        result = result_from("reject_75_subscriber_not_found.json" if name == "Cy" else "out_of_network.json")
        store.save(
            request_for(first_name=name), result, "intake-1", now=start + dt.timedelta(minutes=minutes)
        )
    first = store.list_recent(limit=2)
    assert (first.total, first.limit, first.offset) == (5, 2, 0)
    assert [row.subscriber_name for row in first.records] == ["Doe, Zoë", "Doe, Di"]
    rest = store.list_recent(limit=2, offset=2)
    assert [row.subscriber_name for row in rest.records] == ["Doe, Cy", "Doe, Ben"]
    cy = rest.records[0]
    assert (cy.outcome, cy.payer_id, cy.trace_number, cy.date_of_service) == (
        "rejected",
        "ACMEH",
        "TRN-R75",
        dt.date(2026, 3, 2),
    )
    assert [row.subscriber_name for row in store.list_recent(limit=2, offset=4).records] == ["Doe, Ana"]
    with pytest.raises(ValueError, match="limit must be between 1 and 200"):
        store.list_recent(limit=0)


def test_only_verifications_that_took_place_are_stored(database: Database) -> None:
    store = database.verifications
    with pytest.raises(ValueError, match="not a verification that took place"):
        store.save(request_for(), VerificationResult("not_configured", "off"), "intake-1")
    with pytest.raises(ValueError, match="performed_by must name who ran"):
        store.save(request_for(), result_from("out_of_network.json"), "  ")


def test_verified_on_is_the_local_day(database: Database) -> None:
    store = database.verifications
    when = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
    record = store.get(store.save(request_for(), result_from("out_of_network.json"), "intake-1", now=when))
    assert record is not None
    assert record.verified_on == when.astimezone().date()


def test_database_location_comes_from_the_environment() -> None:
    assert configured_target({}) == "var/coverage.sqlite"
    assert configured_target({"COVERAGE_DB": " /data/vob.sqlite "}) == "/data/vob.sqlite"
    url = "postgresql://coverage:secret@db.internal:5432/coverage?sslmode=verify-full"
    assert configured_target({"COVERAGE_DB": url}) == url
    assert open_database("/data/vob.sqlite").where == "SQLite file /data/vob.sqlite"
    # the URL's user and password never reach a message or a log line
    assert open_database(url).where == "PostgreSQL database 'coverage' on db.internal:5432"


def test_verify_again_links_the_new_record_to_the_earlier_one(database: Database) -> None:
    """Migration 4 adds a nullable previous_id: a first record reads None, a repeat names its original."""
    store = database.verifications
    request, result = request_for(), result_from("prior_auth_iop.json")
    first = store.save(request, result, "intake-1")
    again = store.save(request, result, "intake-1", previous_id=first)
    assert store.get(first).previous_id is None  # type: ignore[union-attr]
    assert store.get(again).previous_id == first  # type: ignore[union-attr]


def test_an_issued_gfe_reads_back_exactly(database: Database) -> None:
    """Migration 5: the content is kept as issued, on both backends."""
    from coverage.gfe import GfeProvider, GoodFaithEstimate, Patient

    provider = GfeProvider(
        "Convening provider", "Sample BH", "1234567893", "12-3456789", "IL site", "IL", [], 0
    )
    gfe = GoodFaithEstimate(
        Patient("Sam Rivera", dt.date(1985, 7, 4)),
        "IOP",
        dt.date(2026, 3, 2),
        dt.date(2026, 3, 2),
        dt.date(2026, 8, 30),
        ["F33.1"],
        [provider],
        0,
        [],
        ["an estimate"],
        "call us",
        "self-pay",
        True,
    )
    when = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
    gfe_id = database.gfes.save(gfe, "intake-1", now=when)
    issued = database.gfes.get(gfe_id)
    assert issued is not None and issued.content == gfe and issued.issued_at == when
    assert [row.patient_name for row in database.gfes.list_recent()] == ["Sam Rivera"]
