"""Issued Good Faith Estimates in the SQLite database, next to the verifications they rest on.

The content is stored as issued (JSON of `coverage.gfe.GoodFaithEstimate`), never recomputed:
a reprint years later shows the same items, prices and disclaimers, which is what a
patient-provider dispute (45 CFR 149.620) looks at. The table is migration 5 on both backends
(`coverage.stores.sql.gfes_table`).
"""

from __future__ import annotations

import datetime as dt

import msgspec

from coverage.eligibility.record import MAX_RECORD_ID
from coverage.gfe import GoodFaithEstimate
from coverage.stores import IssuedGfe, IssuedGfeSummary
from coverage.stores.sql import SqlDatabase, read_time


class SqlGfeStore:
    """Issued GFEs (`coverage.stores.GfeStore`) in any `SqlDatabase` (SQLite or PostgreSQL)."""

    def __init__(self, database: SqlDatabase) -> None:
        self._database = database

    def save(
        self, content: GoodFaithEstimate, issued_by: str, *, verification_id: int | None = None,
        now: dt.datetime | None = None,
    ) -> int:
        """Keep one issued GFE as it is (`verification_id`: the verification it rests on)."""
        by = issued_by.strip()
        if not by:
            raise ValueError("issued_by must name who issued the Good Faith Estimate")
        dialect = self._database.dialect
        issued_at = dialect.time(now or dt.datetime.now(dt.UTC))
        document = msgspec.json.encode(content).decode()
        values = (issued_at, by, content.patient.name, verification_id, document)
        query = (
            "INSERT INTO good_faith_estimates (issued_at, issued_by, patient_name, verification_id, "
            "content_json) VALUES (?, ?, ?, ?, ?) RETURNING id"
        )
        with self._database.connect() as connection:
            return int(connection.execute(dialect.sql(query), values).fetchone()["id"])

    def get(self, gfe_id: int) -> IssuedGfe | None:
        if not 1 <= gfe_id <= MAX_RECORD_ID:
            return None
        query = self._database.dialect.sql("SELECT * FROM good_faith_estimates WHERE id = ?")
        with self._database.connect() as connection:
            row = connection.execute(query, (gfe_id,)).fetchone()
        if row is None:
            return None
        content = msgspec.json.decode(row["content_json"], type=GoodFaithEstimate)
        issued_at = read_time(row["issued_at"])
        return IssuedGfe(row["id"], issued_at, row["issued_by"], row["verification_id"], content)

    def list_recent(self, limit: int = 25, offset: int = 0) -> list[IssuedGfeSummary]:
        if not 1 <= limit <= 200 or offset < 0:
            raise ValueError(f"limit must be 1-200 and offset not negative, got {limit}, {offset}")
        query = (
            "SELECT id, issued_at, issued_by, patient_name, content_json FROM good_faith_estimates "
            "ORDER BY id DESC LIMIT ? OFFSET ?"
        )
        with self._database.connect() as connection:
            rows = connection.execute(self._database.dialect.sql(query), (limit, offset)).fetchall()
        return [
            IssuedGfeSummary(
                id=row["id"],
                issued_at=read_time(row["issued_at"]),
                issued_by=row["issued_by"],
                patient_name=row["patient_name"],
                total_cents=msgspec.json.decode(row["content_json"], type=GoodFaithEstimate).total_cents,
            )
            for row in rows
        ]
