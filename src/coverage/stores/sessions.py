"""Staff login sessions, kept server side so that logout and key removal really end them.

A session id is 32 random bytes handed to the browser once; the store keeps only its SHA-256
(a copy of the database cannot be replayed as cookies), which key signed in (as a SHA-256
fingerprint, never the key) and when the session expires. `SessionStore` is the small interface
the web layer needs (save / get / delete), so a PostgreSQL store can replace the SQLite one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Protocol

from msgspec import Struct

from coverage.stores.sqlite import SqliteVerificationStore

SESSION_TTL = dt.timedelta(hours=8)  # one working shift


class StoredSession(Struct, frozen=True):
    token_hash: str
    key_fingerprint: str
    expires_at: dt.datetime


class SessionStore(Protocol):
    def save(self, session: StoredSession) -> None: ...

    def get(self, token_hash: str) -> StoredSession | None: ...

    def delete(self, token_hash: str) -> None: ...


def digest(secret: str) -> str:
    """SHA-256 of a session id or a staff key: what the store keeps instead of either."""
    return hashlib.sha256(secret.encode()).hexdigest()


class SqliteSessionStore:
    """Sessions in the `staff_sessions` table of the verification database (migration 3)."""

    def __init__(self, path: Path | str) -> None:
        self._database = SqliteVerificationStore(path)  # opens and migrates the file

    def save(self, session: StoredSession) -> None:
        with self._database.connect() as connection:
            now = dt.datetime.now(dt.UTC).isoformat()
            connection.execute("DELETE FROM staff_sessions WHERE expires_at < ?", (now,))  # tidy as we go
            connection.execute(
                "INSERT INTO staff_sessions (token_hash, key_fingerprint, expires_at) VALUES (?, ?, ?)",
                (
                    session.token_hash,
                    session.key_fingerprint,
                    session.expires_at.astimezone(dt.UTC).isoformat(),
                ),
            )

    def get(self, token_hash: str) -> StoredSession | None:
        with self._database.connect() as connection:
            row = connection.execute(
                "SELECT key_fingerprint, expires_at FROM staff_sessions WHERE token_hash = ?", (token_hash,)
            ).fetchone()
        if row is None:
            return None
        return StoredSession(token_hash, row["key_fingerprint"], dt.datetime.fromisoformat(row["expires_at"]))

    def delete(self, token_hash: str) -> None:
        with self._database.connect() as connection:
            connection.execute("DELETE FROM staff_sessions WHERE token_hash = ?", (token_hash,))
