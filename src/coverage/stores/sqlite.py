"""The default backend: every store in one embedded SQLite file, for one machine and a fresh clone.

A record holds PHI (the inquiry, the clearinghouse's raw answer): it lives only in this
database, never in logs. The file (`COVERAGE_DB`, default `var/coverage.sqlite` under the
working directory) is created 0600 in a 0700 folder and kept in WAL mode, so the web service
can read while a CLI run writes. Opening it applies the missing `MIGRATIONS`, in order, in one
`BEGIN IMMEDIATE` transaction (SQLite's write lock: one process migrates, the others wait).
The tables and queries are `coverage.stores.sql`'s, shared with PostgreSQL.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from coverage.stores.sql import (
    COLUMNS,
    FIRST_OUTCOMES,
    NEWEST_FIRST,
    PREVIOUS_ID,
    SECOND_OUTCOMES,
    Dialect,
    SqlSessionStore,
    SqlVerificationStore,
    StoreError,
    apply_migrations,
    gfes_table,
    schema_version,
    sessions_table,
    verifications_table,
)

__all__ = ["MIGRATIONS", "SqliteDatabase", "SqliteSessionStore", "SqliteVerificationStore", "StoreError"]

DEFAULT_DB = Path("var") / "coverage.sqlite"
SQLITE = Dialect(
    placeholder="?", id_column="INTEGER PRIMARY KEY AUTOINCREMENT", time_type="TEXT", times_as_text=True
)

# Ordered forward migrations: entry n (1-based) moves a database from version n-1 to n.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (verifications_table(SQLITE, "verifications", FIRST_OUTCOMES), NEWEST_FIRST),
    # 2: the `inactive` outcome. SQLite cannot change a CHECK constraint in place, so the table
    # is rebuilt with the wider one and every row copied.
    (
        verifications_table(SQLITE, "verifications_v2", SECOND_OUTCOMES),
        f"INSERT INTO verifications_v2 ({COLUMNS}) SELECT {COLUMNS} FROM verifications",
        "DROP TABLE verifications",
        "ALTER TABLE verifications_v2 RENAME TO verifications",
        NEWEST_FIRST,
    ),
    # 3: staff login sessions (coverage.stores.sessions)
    (sessions_table(SQLITE),),
    # 4: "Verify again" links a new record to the one it repeats
    (PREVIOUS_ID,),
    # 5: issued Good Faith Estimates (coverage.stores.gfes)
    (gfes_table(SQLITE),),
)


def _private_file(path: Path) -> None:
    """Create the database file 0600 (PHI) before SQLite opens it, and tighten an existing one.

    SQLite gives the -wal and -shm files the mode of the database file, so they follow.
    """
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists():
            file.chmod(0o600)


class SqliteDatabase:
    """One SQLite file; a short-lived connection per call keeps it thread-safe."""

    dialect = SQLITE

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
            connection.execute("BEGIN IMMEDIATE")  # one writer migrates; others wait, then see it done
            try:
                apply_migrations(connection, SQLITE, MIGRATIONS, str(self.path))
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A short-lived connection (autocommit), opening and migrating the file on first use."""
        if not self._opened:
            self._open()
        connection = sqlite3.connect(self.path, isolation_level=None, timeout=10)
        try:
            connection.row_factory = sqlite3.Row
            yield connection
        finally:
            connection.close()

    def journal_mode(self) -> str:
        with self.connect() as connection:
            return str(connection.execute("PRAGMA journal_mode").fetchone()[0])

    def close(self) -> None:
        """Nothing stays open between calls."""


class SqliteVerificationStore(SqlVerificationStore):
    """The verification store of the SQLite file at `path` (opened now unless `open_now=False`)."""

    database: SqliteDatabase

    def __init__(self, path: Path | str | SqliteDatabase, *, open_now: bool = True) -> None:
        database = path if isinstance(path, SqliteDatabase) else SqliteDatabase(path, open_now=open_now)
        super().__init__(database)

    @property
    def path(self) -> Path:
        return self.database.path

    def connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return self.database.connect()

    def schema_version(self) -> int:
        return schema_version(self.database)

    def journal_mode(self) -> str:
        return self.database.journal_mode()


class SqliteSessionStore(SqlSessionStore):
    """The staff sessions of the SQLite file at `path`."""

    def __init__(self, path: Path | str | SqliteDatabase) -> None:
        super().__init__(path if isinstance(path, SqliteDatabase) else SqliteDatabase(path))
