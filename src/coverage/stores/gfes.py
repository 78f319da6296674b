"""Issued Good Faith Estimates in the SQLite database, next to the verifications they rest on.

The content is stored as issued (JSON of `coverage.gfe.GoodFaithEstimate`), never recomputed:
a reprint years later shows the same items, prices and disclaimers, which is what a
patient-provider dispute (45 CFR 149.620) looks at. The table is migration 5 of
`coverage.stores.sqlite`.
"""

from __future__ import annotations

import datetime as dt

import msgspec

from coverage.eligibility.record import MAX_RECORD_ID
from coverage.gfe import GoodFaithEstimate
from coverage.stores import IssuedGfe, IssuedGfeSummary
from coverage.stores.sqlite import SqliteVerificationStore


class SqliteGfeStore:
    """GFEs in the database of a SqliteVerificationStore (same file, same migrations)."""

    def __init__(self, database: SqliteVerificationStore) -> None:
        self._database = database

    def save(
        self,
        content: GoodFaithEstimate,
        issued_by: str,
        verification_id: int | None = None,
        now: dt.datetime | None = None,
    ) -> int:
        if not issued_by.strip():
            raise ValueError("issued_by must name who issued the Good Faith Estimate")
        issued_at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        with self._database.connect() as connection:
            cursor = connection.execute(
                "INSERT INTO good_faith_estimates (issued_at, issued_by, patient_name, verification_id, "
                "content_json) VALUES (?, ?, ?, ?, ?)",
                (
                    issued_at.isoformat(),
                    issued_by.strip(),
                    content.patient.name,
                    verification_id,
                    msgspec.json.encode(content).decode(),
                ),
            )
            assert cursor.lastrowid is not None
            return cursor.lastrowid

    def get(self, gfe_id: int) -> IssuedGfe | None:
        if not 1 <= gfe_id <= MAX_RECORD_ID:
            return None
        with self._database.connect() as connection:
            row = connection.execute("SELECT * FROM good_faith_estimates WHERE id = ?", (gfe_id,)).fetchone()
        if row is None:
            return None
        content = msgspec.json.decode(row["content_json"], type=GoodFaithEstimate)
        issued_at = dt.datetime.fromisoformat(row["issued_at"])
        return IssuedGfe(row["id"], issued_at, row["issued_by"], row["verification_id"], content)

    def list_recent(self, limit: int = 25, offset: int = 0) -> list[IssuedGfeSummary]:
        if not 1 <= limit <= 200 or offset < 0:
            raise ValueError(f"limit must be 1-200 and offset not negative, got {limit}, {offset}")
        with self._database.connect() as connection:
            rows = connection.execute(
                "SELECT id, issued_at, issued_by, patient_name, content_json FROM good_faith_estimates "
                "ORDER BY id DESC LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        return [
            IssuedGfeSummary(
                id=row["id"],
                issued_at=dt.datetime.fromisoformat(row["issued_at"]),
                issued_by=row["issued_by"],
                patient_name=row["patient_name"],
                total_cents=msgspec.json.decode(row["content_json"], type=GoodFaithEstimate).total_cents,
            )
            for row in rows
        ]
