"""Where the service keeps its state: the store protocols the web service and the CLI are given.

The core never holds a store: a caller reads the record it needs (`get`) and hands the
record to the estimate. `coverage.stores.database.open_database` picks the backend from
`COVERAGE_DB` (an SQLite file by default, or a `postgresql://` URL) and yields every store over
it; the web app factory takes that `Database` as a parameter and the CLI opens one, as both do
with the plan catalog. The SQL is written once (`coverage.stores.sql`) for both backends.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol, runtime_checkable

from msgspec import Struct

from coverage.eligibility.benefits import VerificationResult
from coverage.eligibility.inquiry import EligibilityRequest
from coverage.eligibility.record import VerificationPage, VerificationRecord
from coverage.gfe import GoodFaithEstimate


@runtime_checkable
class VerificationStore(Protocol):
    """Save a verification, read one back, list them newest first."""

    def save(  # `now`: the record's time (tests); default the current time
        self, request: EligibilityRequest, result: VerificationResult, performed_by: str,
        plan_id: str | None = None, now: dt.datetime | None = None, previous_id: int | None = None
    ) -> int: ...

    def get(self, record_id: int) -> VerificationRecord | None: ...

    def list_recent(self, limit: int = 25, offset: int = 0) -> VerificationPage: ...


class IssuedGfe(Struct, frozen=True):
    """A Good Faith Estimate as issued: kept so it can be reprinted exactly and produced in a dispute."""

    id: int
    issued_at: dt.datetime
    issued_by: str
    verification_id: int | None
    content: GoodFaithEstimate


class IssuedGfeSummary(Struct, frozen=True):
    id: int
    issued_at: dt.datetime
    issued_by: str
    patient_name: str
    total_cents: int


@runtime_checkable
class GfeStore(Protocol):
    """Save an issued GFE, read one back, list them newest first."""

    def save(
        self, content: GoodFaithEstimate, issued_by: str, *, verification_id: int | None = None,
        now: dt.datetime | None = None,
    ) -> int: ...

    def get(self, gfe_id: int) -> IssuedGfe | None: ...

    def list_recent(self, limit: int = 25, offset: int = 0) -> list[IssuedGfeSummary]: ...
