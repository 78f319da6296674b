"""Verification records: every benefit verification, kept in an embedded SQLite database.

A record holds what staff need to stand behind a quote later: the inquiry (PHI: it lives
only in this database, never in logs), the clearinghouse's raw answer, the mapped benefits,
who ran it, when, the payer's trace number and the outcome with its message.

The database is a single file (`COVERAGE_DB`, default `var/coverage.sqlite` under the
working directory) in WAL mode, so the web service can read while a CLI run writes. The
schema is versioned: `schema_version` holds the number of `MIGRATIONS` applied, and opening
the store applies the missing ones, in order, inside one transaction. Migrations are only
ever appended; a database newer than the code is refused rather than misread.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import msgspec

from coverage.eligibility.benefits import Outcome, PayerRejection, VerificationResult, VerifiedBenefits
from coverage.eligibility.inquiry import EligibilityRequest
from coverage.eligibility.record import (
    MAX_RECORD_ID,
    VerificationPage,
    VerificationRecord,
    VerificationSummary,
)
from coverage.stores import VerificationStore

DEFAULT_DB = Path("var") / "coverage.sqlite"
STORED_OUTCOMES: tuple[Outcome, ...] = ("verified", "inactive", "rejected", "unavailable", "invalid_response")
_COLUMNS = (
    "id, created_at, performed_by, plan_id, payer_id, outcome, message, control_number, trace_number, "
    "http_status, attempts, request_json, raw_response, benefits_json, rejections_json"
)



def _verifications_table(name: str, outcomes: str) -> str:
    """The verifications table, as every migration that (re)creates it lays it out."""
    return f"""
        CREATE TABLE {name} (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at TEXT NOT NULL,              -- ISO 8601, UTC
            performed_by TEXT NOT NULL,
            plan_id TEXT,
            payer_id TEXT NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN ({outcomes})),
            message TEXT NOT NULL,
            control_number TEXT,
            trace_number TEXT,
            http_status INTEGER,
            attempts INTEGER NOT NULL,
            request_json TEXT NOT NULL,            -- PHI
            raw_response TEXT,                     -- PHI: the clearinghouse body as received
            benefits_json TEXT,
            rejections_json TEXT NOT NULL
        )
        """


_NEWEST_FIRST = "CREATE INDEX verifications_newest ON verifications (created_at DESC, id DESC)"

# Ordered forward migrations: entry n (1-based) moves a database from version n-1 to n.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        _verifications_table("verifications", "'verified', 'rejected', 'unavailable', 'invalid_response'"),
        _NEWEST_FIRST,
    ),
    # 2: the `inactive` outcome (a 271 reporting coverage inactive). SQLite cannot change a CHECK
    # constraint in place, so the table is rebuilt with the wider one and every row copied.
    (
        _verifications_table(
            "verifications_v2", "'verified', 'inactive', 'rejected', 'unavailable', 'invalid_response'"
        ),
        f"INSERT INTO verifications_v2 ({_COLUMNS}) SELECT {_COLUMNS} FROM verifications",
        "DROP TABLE verifications",
        "ALTER TABLE verifications_v2 RENAME TO verifications",
        _NEWEST_FIRST,
    ),
    # 3: staff login sessions (coverage.stores.sessions): hashes only, never a session id or a key
    (
        """
        CREATE TABLE staff_sessions (
            token_hash TEXT PRIMARY KEY,           -- SHA-256 of the session id
            key_fingerprint TEXT NOT NULL,         -- SHA-256 of the staff key that signed in
            expires_at TEXT NOT NULL               -- ISO 8601, UTC
        )
        """,
    ),
    # 4: "Verify again" links a new record to the one it repeats
    ("ALTER TABLE verifications ADD COLUMN previous_id INTEGER REFERENCES verifications (id)",),
    # 5: issued Good Faith Estimates (coverage.stores.gfes): the exact content, who, when
    (
        """
        CREATE TABLE good_faith_estimates (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            issued_at TEXT NOT NULL,               -- ISO 8601, UTC
            issued_by TEXT NOT NULL,
            patient_name TEXT NOT NULL,            -- PHI
            verification_id INTEGER REFERENCES verifications (id),
            content_json TEXT NOT NULL             -- PHI: the GFE exactly as issued
        )
        """,
    ),
)


class StoreError(Exception):
    """The database cannot be used (for example: written by a newer version)."""


def default_db_path(environ: Mapping[str, str] | None = None) -> Path:
    """`COVERAGE_DB`, else `var/coverage.sqlite` relative to the working directory."""
    env = os.environ if environ is None else environ
    configured = env.get("COVERAGE_DB", "").strip()
    return Path(configured) if configured else DEFAULT_DB


def _private_file(path: Path) -> None:
    """Create the database file 0600 (PHI) before SQLite opens it, and tighten an existing one.

    SQLite gives the -wal and -shm files the mode of the database file, so they follow.
    """
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists():
            file.chmod(0o600)


class SqliteVerificationStore:
    """Verification records in one SQLite file; a short-lived connection per call keeps it thread-safe."""

    def __init__(self, path: Path | str, *, open_now: bool = True) -> None:
        self.path = Path(path)
        self._opened = False
        if open_now:
            self._open()

    def _open(self) -> None:
        self._opened = True
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _private_file(self.path)
        with self.connect() as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            self._migrate(connection)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A short-lived connection; other tables of this database (sessions) use it too."""
        if not self._opened:
            self._open()
        connection = sqlite3.connect(self.path, isolation_level=None, timeout=10)
        try:
            connection.row_factory = sqlite3.Row
            yield connection
        finally:
            connection.close()

    def _migrate(self, connection: sqlite3.Connection) -> None:
        connection.execute("BEGIN IMMEDIATE")  # one writer migrates; others wait, then see it done
        try:
            connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = connection.execute("SELECT version FROM schema_version").fetchone()
            if row is None:
                connection.execute("INSERT INTO schema_version (version) VALUES (0)")
            current = row["version"] if row else 0
            if current > len(MIGRATIONS):
                raise StoreError(
                    f"{self.path} has schema version {current}, newer than this program "
                    f"understands ({len(MIGRATIONS)}); upgrade the program"
                )
            for version, statements in enumerate(MIGRATIONS[current:], start=current + 1):
                for statement in statements:
                    connection.execute(statement)
                connection.execute("UPDATE schema_version SET version = ?", (version,))
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    def schema_version(self) -> int:
        with self.connect() as connection:
            return int(connection.execute("SELECT version FROM schema_version").fetchone()["version"])

    def journal_mode(self) -> str:
        with self.connect() as connection:
            return str(connection.execute("PRAGMA journal_mode").fetchone()[0])

    def save(
        self,
        request: EligibilityRequest,
        result: VerificationResult,
        performed_by: str,
        plan_id: str | None = None,
        now: dt.datetime | None = None,
        previous_id: int | None = None,
    ) -> int:
        """Store one verification (`previous_id`: the record it repeats); returns its record id."""
        if result.outcome not in STORED_OUTCOMES:
            raise ValueError(f"outcome {result.outcome!r} is not a verification that took place")
        if not performed_by.strip():
            raise ValueError("performed_by must name who ran the verification")
        created_at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        with self.connect() as connection:
            cursor = connection.execute(
                """
                INSERT INTO verifications (
                    created_at, performed_by, plan_id, payer_id, outcome, message, control_number,
                    trace_number, http_status, attempts, request_json, raw_response, benefits_json,
                    rejections_json, previous_id
                ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                (
                    created_at.isoformat(),
                    performed_by.strip(),
                    plan_id,
                    request.payer_id,
                    result.outcome,
                    result.message,
                    result.control_number,
                    result.trace_number,
                    result.http_status,
                    result.attempts,
                    msgspec.json.encode(request).decode(),
                    result.raw_response,
                    msgspec.json.encode(result.benefits).decode() if result.benefits else None,
                    msgspec.json.encode(result.rejections).decode(),
                    previous_id,
                ),
            )
            assert cursor.lastrowid is not None  # an INSERT into a rowid table always sets it
            return cursor.lastrowid

    def get(self, record_id: int) -> VerificationRecord | None:
        if not 1 <= record_id <= MAX_RECORD_ID:  # SQLite cannot even be asked
            return None
        with self.connect() as connection:
            row = connection.execute("SELECT * FROM verifications WHERE id = ?", (record_id,)).fetchone()
        if row is None:
            return None
        benefits = row["benefits_json"]
        return VerificationRecord(
            id=row["id"],
            created_at=dt.datetime.fromisoformat(row["created_at"]),
            performed_by=row["performed_by"],
            plan_id=row["plan_id"],
            request=msgspec.json.decode(row["request_json"], type=EligibilityRequest),
            outcome=row["outcome"],
            message=row["message"],
            control_number=row["control_number"],
            trace_number=row["trace_number"],
            http_status=row["http_status"],
            attempts=row["attempts"],
            raw_response=row["raw_response"],
            benefits=msgspec.json.decode(benefits, type=VerifiedBenefits) if benefits else None,
            rejections=msgspec.json.decode(row["rejections_json"], type=list[PayerRejection]),
            previous_id=row["previous_id"],
        )

    def list_recent(self, limit: int = 25, offset: int = 0) -> VerificationPage:
        """Records newest first, `limit` at a time (1-200) from `offset`."""
        if not 1 <= limit <= 200:
            raise ValueError(f"limit must be between 1 and 200, got {limit}")
        if offset < 0:
            raise ValueError(f"offset must not be negative, got {offset}")
        with self.connect() as connection:
            total = connection.execute("SELECT count(*) FROM verifications").fetchone()[0]
            rows = connection.execute(
                """
                SELECT id, created_at, performed_by, plan_id, payer_id, outcome, message,
                       trace_number, request_json
                FROM verifications ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?
                """,
                (limit, offset),
            ).fetchall()
        summaries = []
        for row in rows:
            request = msgspec.json.decode(row["request_json"], type=EligibilityRequest)
            summaries.append(
                VerificationSummary(
                    id=row["id"],
                    created_at=dt.datetime.fromisoformat(row["created_at"]),
                    performed_by=row["performed_by"],
                    plan_id=row["plan_id"],
                    payer_id=row["payer_id"],
                    subscriber_name=f"{request.last_name}, {request.first_name}",
                    date_of_service=request.date_of_service,
                    outcome=row["outcome"],
                    message=row["message"],
                    trace_number=row["trace_number"],
                )
            )
        return VerificationPage(summaries, total, limit, offset)



def opened_on_first_use(path: Path) -> VerificationStore:
    """The store at `path`, opened (and migrated) by its first call: a service that never reads
    or saves a verification never creates the database."""
    return SqliteVerificationStore(path, open_now=False)
