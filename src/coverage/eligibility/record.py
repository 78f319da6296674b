"""A stored verification: what staff need to stand behind a quote later (pure data).

Stores (`coverage.stores`) save and read these; an estimate takes one already read.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from msgspec import Meta, Struct

from coverage.eligibility.benefits import Outcome, PayerRejection, VerifiedBenefits
from coverage.eligibility.inquiry import EligibilityRequest

MAX_RECORD_ID = 2**63 - 1  # SQLite's largest INTEGER: a bigger id is a 400, never an OverflowError
RecordId = Annotated[int, Meta(ge=1, le=MAX_RECORD_ID)]


class VerificationRecord(Struct, frozen=True):
    """One stored verification, as saved."""

    id: int
    created_at: dt.datetime
    performed_by: str
    plan_id: str | None
    request: EligibilityRequest
    outcome: Outcome
    message: str
    control_number: str | None
    trace_number: str | None
    http_status: int | None
    attempts: int
    raw_response: str | None
    benefits: VerifiedBenefits | None
    rejections: list[PayerRejection]
    previous_id: int | None = None  # the verification this one repeated ("Verify again")

    @property
    def verified_on(self) -> dt.date:
        """The local calendar day of the verification, as estimates cite it."""
        return self.created_at.astimezone().date()


class VerificationSummary(Struct, frozen=True):
    """A list row: enough to find a record, without the raw response."""

    id: int
    created_at: dt.datetime
    performed_by: str
    plan_id: str | None
    payer_id: str
    subscriber_name: str
    date_of_service: dt.date
    outcome: Outcome
    message: str
    trace_number: str | None


class VerificationPage(Struct, frozen=True):
    records: list[VerificationSummary]
    total: int
    limit: int
    offset: int
