"""The PostgreSQL backend: every store in one database server, shared by many service processes.

Chosen when `COVERAGE_DB` is a `postgresql://` (or `postgres://`) URL (`coverage.stores.database`);
everything libpq reads from a URL passes through untouched, TLS included
(`?sslmode=verify-full&sslrootcert=...`).
Calls are synchronous on a psycopg `ConnectionPool` (thread-safe): the web service runs them in
worker threads like the SQLite calls, and the CLI uses the very same stores.

The first call applies the missing `MIGRATIONS` on a connection of its own, in one
transaction holding `pg_advisory_xact_lock(MIGRATION_LOCK)`: of several processes starting at
once one migrates, the others wait for its commit and find nothing left to do; then the pool
opens (`POOL_MAX_SIZE` connections per process at most). A database
newer than the code is refused. Errors become `StoreError`s that name the table and the
constraint but never quote a value (a failing row would be PHI), and never the URL's password.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from coverage.stores.sql import (
    FIRST_OUTCOMES,
    NEWEST_FIRST,
    PREVIOUS_ID,
    SECOND_OUTCOMES,
    Dialect,
    StoreError,
    apply_migrations,
    gfes_table,
    outcome_in,
    sessions_table,
    verifications_table,
)

POSTGRES = Dialect(
    placeholder="%s",
    id_column="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    time_type="TIMESTAMPTZ",
    times_as_text=False,
)
MIGRATION_LOCK = 0x636F7665_72616765  # "coverage": the advisory lock key the migrations hold
POOL_MAX_SIZE = 10  # connections per service process; PostgreSQL allows 100 by default
CONNECT_TIMEOUT_S = 10  # libpq waits forever by default; `?connect_timeout=` overrides
# SQLSTATE classes whose message is about the connection, never about stored values:
# connection exception, invalid authorization, unknown database, insufficient resources, shutdown.
_SAYABLE_CLASSES = ("08", "28", "3D", "53", "57")

# Ordered forward migrations, numbered as SQLite's: version n is the same schema on both.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (verifications_table(POSTGRES, "verifications", FIRST_OUTCOMES), NEWEST_FIRST),
    # 2: the `inactive` outcome; PostgreSQL replaces the CHECK constraint in place
    (
        "ALTER TABLE verifications DROP CONSTRAINT verifications_outcome_check, "
        f"ADD CONSTRAINT verifications_outcome_check CHECK ({outcome_in(SECOND_OUTCOMES)})",
    ),
    # 3: staff login sessions (coverage.stores.sessions)
    (sessions_table(POSTGRES),),
    # 4: "Verify again" links a new record to the one it repeats
    (PREVIOUS_ID,),
    # 5: issued Good Faith Estimates (coverage.stores.gfes)
    (gfes_table(POSTGRES),),
)


def describe(url: str) -> str:
    """The database named by `url` for messages and logs: no user name, no password."""
    parts = urlsplit(url)
    where = parts.hostname or "the local socket"
    if parts.port:
        where += f":{parts.port}"
    return f"PostgreSQL database {parts.path.lstrip('/') or '(default)'!r} on {where}"


def _without_values(error: psycopg.Error, where: str) -> str:
    """What went wrong, told without the values involved (they may be PHI)."""
    sqlstate = error.sqlstate
    if sqlstate is None or sqlstate[:2] in _SAYABLE_CLASSES:
        return f"{where}: {str(error).splitlines()[0] if str(error) else type(error).__name__}"
    names = (("table", error.diag.table_name), ("constraint", error.diag.constraint_name))
    named = "".join(f", {kind} {name}" for kind, name in names if name)
    return f"{where} refused the operation: {type(error).__name__} (SQLSTATE {sqlstate}){named}"


class PostgresDatabase:
    """A connection pool on the database at `url`, opened (and migrated) on first use."""

    dialect = POSTGRES

    def __init__(self, url: str, *, max_size: int = POOL_MAX_SIZE) -> None:
        self.url = url
        self.where = describe(url)
        self._max_size = max_size
        self._pool: ConnectionPool[Any] | None = None
        self._lock = threading.Lock()

    def _opened(self) -> ConnectionPool[Any]:
        with self._lock:
            if self._pool is None:
                options: dict[str, object] = {"row_factory": dict_row}
                if "connect_timeout" not in conninfo_to_dict(self.url):  # the URL's own wins
                    options["connect_timeout"] = CONNECT_TIMEOUT_S
                # Migrate on a connection of its own first: its errors say why (host, TLS, password).
                with psycopg.connect(self.url, **options) as connection:  # type: ignore[arg-type]
                    connection.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
                    apply_migrations(connection, POSTGRES, MIGRATIONS, self.where)  # committed on exit
                pool = ConnectionPool(
                    self.url, min_size=1, max_size=self._max_size, open=False, name="coverage", kwargs=options
                )
                pool.open()
                self._pool = pool
            return self._pool

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection; its transaction commits when the block ends without an error."""
        try:
            with self._opened().connection() as connection:
                yield connection
        except psycopg.Error as error:
            raise StoreError(_without_values(error, self.where)) from None

    def close(self) -> None:
        """Close the pool (at shutdown); a later call opens a new one."""
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None
