"""Staff login sessions, kept server side so that logout and key removal really end them.

A session id is 32 random bytes handed to the browser once; the store keeps only its SHA-256
(a copy of the database cannot be replayed as cookies), which key signed in (as a SHA-256
fingerprint, never the key) and when the session expires. `SessionStore` is the small interface
the web layer needs (save / get / delete); `coverage.stores.sql.SqlSessionStore` implements it
on SQLite and PostgreSQL alike, so every service process sees every login and logout.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Protocol

from msgspec import Struct

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
