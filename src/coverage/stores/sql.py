"""The stores written once in SQL, for every backend: SQLite (the default) and PostgreSQL.

A backend (`coverage.stores.sqlite`, `coverage.stores.postgres`) supplies a `SqlDatabase`: a
short-lived connection per call, its `Dialect` and its ordered list of migrations. The tables,
the queries and the mapping between rows and records live here only, so both backends keep
the same records; what differs (the id column, how a time is stored, the placeholder, how the
migration lock is taken) is the dialect's.

Migrations: `schema_version` holds how many of a backend's migrations are applied; number n
means the same schema on every backend. The list is only ever appended to, and a database
newer than the code is refused rather than misread.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from coverage.eligibility.benefits import Outcome, PayerRejection, VerificationResult, VerifiedBenefits
from coverage.eligibility.inquiry import EligibilityRequest
from coverage.eligibility.record import (
    MAX_RECORD_ID,
    VerificationPage,
    VerificationRecord,
    VerificationSummary,
)
from coverage.stores.sessions import StoredSession

STORED_OUTCOMES: tuple[Outcome, ...] = ("verified", "inactive", "rejected", "unavailable", "invalid_response")
COLUMNS = (  # as migrations 1-3 lay the table out (migration 2 copies exactly these)
    "id, created_at, performed_by, plan_id, payer_id, outcome, message, control_number, trace_number, "
    "http_status, attempts, request_json, raw_response, benefits_json, rejections_json"
)
RECORD_COLUMNS = COLUMNS + ", previous_id"  # migration 4 adds previous_id


class StoreError(Exception):
    """The database cannot be used (written by a newer version, unreachable, refused a write).

    Its message never quotes stored values: they are PHI.
    """


@dataclass(frozen=True)
class Dialect:
    """What one backend spells differently. Queries are written with `?` placeholders (and no
    literal `?` or `%`), turned into the backend's by `sql`."""

    placeholder: str
    id_column: str  # an auto-assigned 64-bit primary key
    time_type: str
    times_as_text: bool  # SQLite keeps a time as ISO 8601 text in UTC

    def sql(self, text: str) -> str:
        return text.replace("?", self.placeholder)

    def time(self, moment: dt.datetime) -> object:
        utc = moment.astimezone(dt.UTC)
        return utc.isoformat() if self.times_as_text else utc


def read_time(value: str | dt.datetime) -> dt.datetime:
    """A stored time back as an aware datetime in UTC, whichever way the backend kept it."""
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(dt.UTC)


class Cursor(Protocol):
    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """sqlite3's and psycopg's connections alike; rows are read by column name."""

    def execute(self, query: Any, params: Any = ..., /) -> Cursor: ...


class SqlDatabase(Protocol):
    dialect: Dialect

    def connect(self) -> AbstractContextManager[Connection]: ...


# --- tables (the migrations of each backend are built from these) ----------------------------


def outcome_in(outcomes: Sequence[str]) -> str:
    """The CHECK condition on `outcome` that admits `outcomes`."""
    return "outcome IN (" + ", ".join(f"'{outcome}'" for outcome in outcomes) + ")"


def verifications_table(dialect: Dialect, name: str, outcomes: Sequence[str]) -> str:
    """The verifications table as every migration that (re)creates it lays it out."""
    return f"""
        CREATE TABLE {name} (
            id {dialect.id_column},
            created_at {dialect.time_type} NOT NULL,
            performed_by TEXT NOT NULL,
            plan_id TEXT,
            payer_id TEXT NOT NULL,
            outcome TEXT NOT NULL CHECK ({outcome_in(outcomes)}),
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


NEWEST_FIRST = "CREATE INDEX verifications_newest ON verifications (created_at DESC, id DESC)"
FIRST_OUTCOMES = ("verified", "rejected", "unavailable", "invalid_response")  # migration 1
SECOND_OUTCOMES = STORED_OUTCOMES  # migration 2 adds `inactive` (a 271 reporting coverage inactive)


def sessions_table(dialect: Dialect) -> str:
    """Staff login sessions (migration 3): hashes only, never a session id or a key."""
    return f"""
        CREATE TABLE staff_sessions (
            token_hash TEXT PRIMARY KEY,           -- SHA-256 of the session id
            key_fingerprint TEXT NOT NULL,         -- SHA-256 of the staff key that signed in
            expires_at {dialect.time_type} NOT NULL
        )
        """


PREVIOUS_ID = "ALTER TABLE verifications ADD COLUMN previous_id BIGINT REFERENCES verifications (id)"  # 4


def gfes_table(dialect: Dialect) -> str:
    """Issued Good Faith Estimates (migration 5): who, when, and the exact content (PHI)."""
    return f"""
        CREATE TABLE good_faith_estimates (
            id {dialect.id_column},
            issued_at {dialect.time_type} NOT NULL,
            issued_by TEXT NOT NULL,
            patient_name TEXT NOT NULL,            -- PHI
            verification_id BIGINT REFERENCES verifications (id),
            content_json TEXT NOT NULL             -- PHI: the GFE exactly as issued
        )
        """


def apply_migrations(
    connection: Connection, dialect: Dialect, migrations: Sequence[Sequence[str]], where: str
) -> None:
    """Bring the schema to `len(migrations)`, inside a transaction that holds the backend's
    migration lock (so one process migrates; the others wait, then find nothing to do)."""
    connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = connection.execute("SELECT version FROM schema_version").fetchone()
    if row is None:
        connection.execute("INSERT INTO schema_version (version) VALUES (0)")
    current = row["version"] if row else 0
    if current > len(migrations):
        raise StoreError(
            f"{where} has schema version {current}, newer than this program "
            f"understands ({len(migrations)}); upgrade the program"
        )
    for version, statements in enumerate(migrations[current:], start=current + 1):
        for statement in statements:
            connection.execute(statement)
        connection.execute(dialect.sql("UPDATE schema_version SET version = ?"), (version,))


def schema_version(database: SqlDatabase) -> int:
    with database.connect() as connection:
        return int(connection.execute("SELECT version FROM schema_version").fetchone()["version"])


# --- the stores ------------------------------------------------------------------------------


class SqlVerificationStore:
    """Verification records (`coverage.stores.VerificationStore`) in any `SqlDatabase`."""

    def __init__(self, database: SqlDatabase) -> None:
        self.database = database

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
        dialect = self.database.dialect
        values = (
            dialect.time(now or dt.datetime.now(dt.UTC)),
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
        )
        columns = RECORD_COLUMNS.removeprefix("id, ")
        query = f"INSERT INTO verifications ({columns}) VALUES ({', '.join('?' * len(values))}) RETURNING id"
        with self.database.connect() as connection:
            return int(connection.execute(dialect.sql(query), values).fetchone()["id"])

    def get(self, record_id: int) -> VerificationRecord | None:
        if not 1 <= record_id <= MAX_RECORD_ID:  # a 64-bit id column cannot even be asked
            return None
        query = self.database.dialect.sql(f"SELECT {RECORD_COLUMNS} FROM verifications WHERE id = ?")
        with self.database.connect() as connection:
            row = connection.execute(query, (record_id,)).fetchone()
        if row is None:
            return None
        benefits = row["benefits_json"]
        return VerificationRecord(
            id=row["id"],
            created_at=read_time(row["created_at"]),
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
        query = """
            SELECT id, created_at, performed_by, plan_id, payer_id, outcome, message,
                   trace_number, request_json
            FROM verifications ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?
        """
        with self.database.connect() as connection:
            total = connection.execute("SELECT count(*) AS total FROM verifications").fetchone()["total"]
            rows = connection.execute(self.database.dialect.sql(query), (limit, offset)).fetchall()
        summaries = []
        for row in rows:
            request = msgspec.json.decode(row["request_json"], type=EligibilityRequest)
            summaries.append(
                VerificationSummary(
                    id=row["id"],
                    created_at=read_time(row["created_at"]),
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
        return VerificationPage(summaries, int(total), limit, offset)


class SqlSessionStore:
    """Staff sessions (`coverage.stores.sessions.SessionStore`) in any `SqlDatabase`."""

    def __init__(self, database: SqlDatabase) -> None:
        self.database = database

    def save(self, session: StoredSession) -> None:
        dialect = self.database.dialect
        with self.database.connect() as connection:
            now = dialect.time(dt.datetime.now(dt.UTC))
            connection.execute(dialect.sql("DELETE FROM staff_sessions WHERE expires_at < ?"), (now,))
            insert = "INSERT INTO staff_sessions (token_hash, key_fingerprint, expires_at) VALUES (?, ?, ?)"
            expires_at = dialect.time(session.expires_at)
            connection.execute(dialect.sql(insert), (session.token_hash, session.key_fingerprint, expires_at))

    def get(self, token_hash: str) -> StoredSession | None:
        query = "SELECT key_fingerprint, expires_at FROM staff_sessions WHERE token_hash = ?"
        with self.database.connect() as connection:
            row = connection.execute(self.database.dialect.sql(query), (token_hash,)).fetchone()
        if row is None:
            return None
        return StoredSession(token_hash, row["key_fingerprint"], read_time(row["expires_at"]))

    def delete(self, token_hash: str) -> None:
        query = "DELETE FROM staff_sessions WHERE token_hash = ?"
        with self.database.connect() as connection:
            connection.execute(self.database.dialect.sql(query), (token_hash,))
