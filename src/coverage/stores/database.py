"""One database, every store: the backend chosen from `COVERAGE_DB`, opened on first use.

`COVERAGE_DB` is a `postgresql://` URL (several service processes or machines sharing one
server) or a file path (SQLite, the default: `var/coverage.sqlite`). Nothing connects until a
store is first used, so a service that never touches its state never creates a database.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol

from coverage.stores import GfeStore, VerificationStore
from coverage.stores.gfes import SqlGfeStore
from coverage.stores.sessions import SessionStore
from coverage.stores.sql import SqlDatabase, SqlSessionStore, SqlVerificationStore
from coverage.stores.sqlite import DEFAULT_DB, SqliteDatabase

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class Backend(SqlDatabase, Protocol):
    def close(self) -> None: ...


@dataclass(frozen=True)
class Database:
    """The stores of one database, and how to say which one it is without a secret in it."""

    verifications: VerificationStore
    sessions: SessionStore
    backend: Backend
    gfes: GfeStore
    where: str

    def close(self) -> None:
        """Release pooled connections (the app's shutdown, the end of a CLI command)."""
        self.backend.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def over(backend: Backend, where: str) -> Database:
    """Every store over `backend`."""
    return Database(
        verifications=SqlVerificationStore(backend),
        sessions=SqlSessionStore(backend),
        backend=backend,
        gfes=SqlGfeStore(backend),
        where=where,
    )


def is_postgres_url(target: str | Path) -> bool:
    return isinstance(target, str) and target.startswith(POSTGRES_SCHEMES)


def configured_target(environ: Mapping[str, str] | None = None) -> str:
    """`COVERAGE_DB`, else `var/coverage.sqlite` relative to the working directory."""
    env = os.environ if environ is None else environ
    return env.get("COVERAGE_DB", "").strip() or str(DEFAULT_DB)


def open_database(target: str | Path | None = None) -> Database:
    """The database at `target` (a `postgresql://` URL or an SQLite file), else `COVERAGE_DB`."""
    target = configured_target() if target is None else target
    if is_postgres_url(target):
        from coverage.stores.postgres import PostgresDatabase  # psycopg loads only when used

        postgres = PostgresDatabase(str(target))
        return over(postgres, postgres.where)
    return over(SqliteDatabase(target, open_now=False), f"SQLite file {target}")
