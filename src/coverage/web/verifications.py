"""Benefit verification over the web (staff): run one, list them, print one.

JSON: `POST /verifications` runs a real-time 270/271 through the configured clearinghouse
and stores the record (201 with the record, whatever the payer's outcome; 503 when
verification is not configured); `GET /verifications` lists records newest first;
`GET /verifications/{id}` returns one record with its request and raw response.
HTML: `/vob` lists records, `/verifications/{id}/report` is the printable "Verification of
benefits". This module only turns HTTP into calls of `coverage.eligibility` and the
verification store the app was built with; records hold PHI, so every route is staff-only and
nothing is logged here.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

import anyio.to_thread
from litestar import get
from litestar.datastructures import CacheControlHeader
from litestar.params import JSONBody, Parameter, QueryParameter
from litestar.response import Template
from msgspec import Meta, Struct

from coverage.eligibility.benefits import (
    FIELD_LABELS,
    Accumulator,
    LevelBenefits,
    VerificationResult,
    VerifiedBenefits,
)
from coverage.eligibility.client import EligibilityClient
from coverage.eligibility.config import EligibilityConfig
from coverage.eligibility.inquiry import EligibilityRequest, build_staff_request
from coverage.eligibility.record import MAX_RECORD_ID, VerificationPage, VerificationRecord
from coverage.errors import InputError, NotFound
from coverage.levels import CATEGORIES, CATEGORY_LABELS, LEVEL_ORDER, LEVELS, NETWORK_LABELS, NETWORKS
from coverage.money import format_usd
from coverage.plans import PlanCatalog
from coverage.stores import VerificationStore
from coverage.web.shared import (
    Catalog,
    HttpError,
    Problem,
    StaffController,
    Verifications,
    json_post,
    staff_errors,
)

NO_STORE = CacheControlHeader(no_store=True)  # pages and answers carry PHI
PAGE_SIZE = 25
MAX_OFFSET = 1_000_000_000  # far beyond any real list; keeps LIMIT/OFFSET inside SQLite's integers
VerificationId = Annotated[int, Parameter(ge=1, le=MAX_RECORD_ID, description="the record's id")]
NOT_STATED = "—"


class VerificationInput(Struct, forbid_unknown_fields=True, kw_only=True):
    """What staff send to verify benefits; provider fields default to COVERAGE_PROVIDER_*."""

    payer_id: str
    member_id: str
    first_name: str
    last_name: str
    date_of_birth: dt.date
    performed_by: Annotated[str, Meta(min_length=1, max_length=80)]  # who ran it, for the record
    date_of_service: dt.date | None = None  # default: today
    plan_id: str | None = None  # the plan file the verification is for
    provider_npi: str | None = None
    provider_name: str | None = None


def _record_or_404(store: VerificationStore, verification_id: int) -> VerificationRecord:
    record = store.get(verification_id)
    if record is None:
        raise NotFound.at("verification_id", f"no verification #{verification_id} is stored")
    return record


# --- the printable page's view model ---------------------------------------------------------


class Cell(Struct, frozen=True):
    text: str
    source: str | None = None  # short: the service type code(s) the value came from


class Row(Struct, frozen=True):
    label: str
    cells: list[Cell]  # in COLUMNS order


class CategoryTable(Struct, frozen=True):
    label: str
    rows: list[Row]


COLUMNS = [(level, network) for level in LEVEL_ORDER for network in NETWORKS]
COLUMN_LABELS = [f"{LEVELS[level].setting}, {NETWORK_LABELS[network]}" for level, network in COLUMNS]
_STC = re.compile(r"^STC (\S+)")


def short_source(source: str | None) -> str | None:
    """'STC CF/A6 (…), in network' -> 'STC CF/A6', with a mark when the network was not stated."""
    if source is None:
        return None
    match = _STC.match(source)
    short = f"STC {match[1]}" if match else source
    return f"{short}, network not stated" if "network not stated" in source else short


def _accumulator_text(accumulator: Accumulator | None) -> str:
    if accumulator is None:
        return NOT_STATED
    parts = []
    if accumulator.total_cents is not None:
        parts.append(f"{format_usd(accumulator.total_cents)} {accumulator.period or ''}".strip())
    if accumulator.remaining_cents is not None:
        parts.append(f"{format_usd(accumulator.remaining_cents)} left")
    if accumulator.met_cents is not None:
        parts.append(f"{format_usd(accumulator.met_cents)} met")
    return " · ".join(parts)


def _yes_no(value: bool | None, yes: str, no: str) -> str:
    return NOT_STATED if value is None else (yes if value else no)


_FIELD_TEXT = {
    "active": lambda b: _yes_no(b.active, "covered", "NOT covered"),
    "copay_cents": lambda b: NOT_STATED if b.copay_cents is None else format_usd(b.copay_cents),
    "coinsurance": lambda b: (
        NOT_STATED if b.coinsurance is None else f"{(b.coinsurance * 100).normalize():f}%"
    ),
    "deductible_individual": lambda b: _accumulator_text(b.deductible_individual),
    "deductible_family": lambda b: _accumulator_text(b.deductible_family),
    "oop_individual": lambda b: _accumulator_text(b.oop_individual),
    "oop_family": lambda b: _accumulator_text(b.oop_family),
    "visit_limit": lambda b: NOT_STATED if b.visit_limit is None else f"{b.visit_limit} per plan year",
    "visits_remaining": lambda b: NOT_STATED if b.visits_remaining is None else str(b.visits_remaining),
    "prior_auth": lambda b: _yes_no(b.prior_auth, "required", "not required"),
}


def category_tables(benefits: VerifiedBenefits) -> list[CategoryTable]:
    """Per category: one row per field, one column per level and network."""
    tables = []
    for category in CATEGORIES:
        columns: list[LevelBenefits] = [
            benefits.level(category, level, network) for level, network in COLUMNS
        ]
        rows = [
            Row(
                FIELD_LABELS[field].capitalize(),
                [Cell(text(column), short_source(column.sources.get(field))) for column in columns],
            )
            for field, text in _FIELD_TEXT.items()
        ]
        tables.append(CategoryTable(CATEGORY_LABELS[category], rows))
    return tables


# --- routes ----------------------------------------------------------------------------------


class VerificationRoutes(StaffController):
    tags = ["benefit verification"]  # noqa: RUF012

    @json_post("/verifications", VerificationInput, 422, 503, status_code=201, cache_control=NO_STORE)
    async def create_verification(
        self, catalog: Catalog, verifications: Verifications, data: JSONBody[VerificationInput]
    ) -> VerificationRecord:
        """Verify benefits with the payer now and store the record (docs/eligibility.md).

        201 whatever the payer answered: `outcome` is verified, inactive, rejected,
        unavailable or invalid_response, with `message` saying why. 503 when no clearinghouse is configured.
        """
        given = {name: getattr(data, name) for name in INQUIRY_FIELDS}
        return await verify_and_store(catalog, verifications, given, data.performed_by, data.plan_id)

    @get("/verifications", sync_to_thread=True, cache_control=NO_STORE, responses=staff_errors())
    def list_verifications(
        self,
        verifications: Verifications,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = PAGE_SIZE,
        offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)] = 0,
    ) -> VerificationPage:
        """Stored verifications, newest first (summaries; no raw responses)."""
        return verifications.list_recent(limit=limit, offset=offset)

    @get(
        "/verifications/{verification_id:int}",
        sync_to_thread=True,
        cache_control=NO_STORE,
        responses=staff_errors(404),
    )
    def show_verification(
        self, verifications: Verifications, verification_id: VerificationId
    ) -> VerificationRecord:
        """One stored verification: request, raw clearinghouse response, mapped benefits."""
        return _record_or_404(verifications, verification_id)

    @get(
        "/verifications/{verification_id:int}/report",
        sync_to_thread=True,
        include_in_schema=False,
        cache_control=NO_STORE,
    )
    def verification_page(self, verifications: Verifications, verification_id: VerificationId) -> Template:
        """The printable "Verification of benefits" for the admissions file."""
        record = _record_or_404(verifications, verification_id)
        context: dict[str, Any] = {
            "record": record,
            "columns": COLUMN_LABELS,
            "tables": category_tables(record.benefits) if record.benefits else [],
            "not_stated": NOT_STATED,
            "staff": True,
        }
        return Template("verification.html", context=context)

    @get("/vob", sync_to_thread=True, include_in_schema=False, cache_control=NO_STORE)
    def verifications_page(
        self,
        verifications: Verifications,
        page: Annotated[int, QueryParameter(ge=1, le=MAX_OFFSET // PAGE_SIZE)] = 1,
    ) -> Template:
        """Recent verifications, 25 a page, each linking to its printable page."""
        listing = verifications.list_recent(limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        pages = max(1, -(-listing.total // PAGE_SIZE))
        return Template(
            "verifications.html", context={"listing": listing, "page": page, "pages": pages, "staff": True}
        )


INQUIRY_FIELDS = (
    "payer_id",
    "member_id",
    "first_name",
    "last_name",
    "date_of_birth",
    "date_of_service",
    "provider_npi",
    "provider_name",
)


async def verify_and_store(
    catalog: PlanCatalog,
    store: VerificationStore,
    given: dict[str, Any],
    performed_by: str,
    plan_id: str | None = None,
    previous_id: int | None = None,
) -> VerificationRecord:
    """Run one verification and store it, for the JSON API and the Admissions page alike:
    an InputError names a bad field (422), HttpError 503 when verification is not configured."""
    if plan_id is not None and catalog.get(plan_id) is None:
        raise InputError.at("plan_id", f"no plan with id {plan_id!r} is loaded")
    try:
        config = EligibilityConfig.from_env()
    except ValueError as exc:
        raise HttpError(503, [Problem(None, str(exc))]) from None
    if (problem := config.problem()) is not None:  # before the provider fields it would default
        raise HttpError(503, [Problem(None, problem)])
    request = build_staff_request(given, config)  # an InputError answers 422 naming the field
    result = await EligibilityClient(config).verify_async(request)
    if result.outcome == "not_configured":
        raise HttpError(503, [Problem(None, result.message)])
    return await anyio.to_thread.run_sync(
        _save_and_read, store, request, result, performed_by, plan_id, previous_id
    )


def _save_and_read(
    store: VerificationStore,
    request: EligibilityRequest,
    result: VerificationResult,
    performed_by: str,
    plan_id: str | None,
    previous_id: int | None,
) -> VerificationRecord:
    """Store a verification and read it back (blocking database I/O: run in a worker thread)."""
    record = store.get(store.save(request, result, performed_by, plan_id, previous_id=previous_id))
    assert record is not None  # just saved
    return record


ROUTES = [VerificationRoutes]
