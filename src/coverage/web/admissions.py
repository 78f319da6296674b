"""The admissions flow in one place (staff): verify benefits on the call, see what the payer said,
estimate at the program's rates, issue a Good Faith Estimate; and the staff index pages the
navigation bar links (parity reports, the batch upload form, issued GFEs).

Handlers turn forms into calls of the core (`coverage.estimate`, `coverage.gfe`) and the stores
they were given, and pick a template; the words for an outcome live in `outcome_view`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

import anyio.to_thread
from litestar import get, post
from litestar.datastructures import CacheControlHeader
from litestar.params import Parameter, URLEncodedBody
from litestar.response import Redirect, Template
from msgspec import Struct

from coverage.dates import parse_date
from coverage.eligibility.record import MAX_RECORD_ID, VerificationRecord
from coverage.errors import InputError, NotFound
from coverage.gfe import Patient, good_faith_estimate
from coverage.levels import CATEGORIES, CATEGORY_LABELS, NETWORK_LABELS
from coverage.pricing.program_terms import MissingValue, verification_terms
from coverage.program import ProgramCatalog
from coverage.stores import GfeStore, VerificationStore
from coverage.web.api import run_estimate
from coverage.web.forms import form_errors, screened_request_from_form
from coverage.web.pages import admissions_page
from coverage.web.shared import Catalog, Gfes, HttpError, Program, StaffController, Verifications
from coverage.web.verifications import COLUMN_LABELS, NOT_STATED, category_tables, verify_and_store

FormData = URLEncodedBody[dict[str, str]]
NO_STORE = CacheControlHeader(no_store=True)
RecordIdParam = Annotated[int, Parameter(ge=1, le=MAX_RECORD_ID, description="the record's id")]
VERIFY_FIELDS = ("payer_id", "member_id", "first_name", "last_name", "date_of_birth", "date_of_service")


class OutcomeView(Struct, frozen=True):
    """A verification's outcome in staff words, with what to do next."""

    title: str
    tone: str  # ok | bad | warn
    detail: str
    next_steps: list[str]


def outcome_view(record: VerificationRecord) -> OutcomeView:
    outcome = record.outcome
    if outcome == "verified":
        return OutcomeView(
            "Verified: coverage is active",
            "ok",
            record.message,
            ["Check the mapped benefits below, fill in anything the payer did not state, then estimate."],
        )
    if outcome == "inactive":
        return OutcomeView(
            "Inactive: the payer reports no active coverage",
            "bad",
            record.message,
            ["Ask the caller for current insurance and verify again, or estimate as self-pay."],
        )
    if outcome == "rejected":
        steps = [
            f"AAA {r.code}: {r.followup_action}" for r in record.rejections if r.followup_action and r.code
        ]
        return OutcomeView(
            "Rejected by the payer",
            "bad",
            record.message,
            [*steps, "Correct what the reason names (card, name, date of birth) and verify again."],
        )
    if outcome == "unavailable":
        return OutcomeView(
            "Unavailable: the payer or clearinghouse did not answer",
            "warn",
            record.message,
            ["Verify again in a few minutes, or call the payer's provider line."],
        )
    return OutcomeView(
        "The payer's answer could not be read",
        "warn",
        record.message,
        ["Verify by phone with the payer; the raw answer is kept with the record."],
    )


def not_configured_view(message: str) -> OutcomeView:
    return OutcomeView(
        "Not configured: benefit verification is off",
        "warn",
        message,
        [
            "Ask the service's administrator to set COVERAGE_ELIGIBILITY_URL; meanwhile use a plan file."
        ],
    )


def missing_values(program: ProgramCatalog, record: VerificationRecord) -> list[tuple[str, MissingValue]]:
    """What the payer did not state, per category, that staff may supply before estimating."""
    loaded = program.program
    if loaded is None or record.outcome != "verified" or record.benefits is None:
        return []
    found: list[tuple[str, MissingValue]] = []
    for category in CATEGORIES:
        terms = verification_terms(
            loaded,
            record.benefits,
            record.id,
            record.verified_on,
            record.request.payer_id,
            category,
            record.request.date_of_service,
            {},
        )
        found += [
            (CATEGORY_LABELS[category], value) for value in terms.missing if value.level or category == "mh"
        ]
    return found


def _record(store: VerificationStore, verification_id: int) -> VerificationRecord:
    record = store.get(verification_id)
    if record is None:
        raise NotFound.at("verification_id", f"no verification #{verification_id} is stored")
    return record


def _diagnosis_codes(text: str) -> list[str]:
    return [code for code in re.split(r"[\s,;]+", text) if code]


def _patient(form: dict[str, str], record: VerificationRecord | None) -> Patient:
    """From the verification's inquiry, else as staff typed it (self-pay)."""
    if record is not None:
        return Patient(
            f"{record.request.first_name} {record.request.last_name}", record.request.date_of_birth
        )
    name = " ".join(form.get(key, "").strip() for key in ("patient_first_name", "patient_last_name")).strip()
    if not name:
        raise InputError.at("patient_first_name", "the patient's name is required on a Good Faith Estimate")
    try:
        birth = parse_date(form.get("patient_date_of_birth", "").strip())
    except ValueError as exc:
        raise InputError.at("patient_date_of_birth", str(exc)) from None
    return Patient(name, birth)


class AdmissionsFlow(StaffController):
    include_in_schema = False

    @post("/admissions/verify", cache_control=NO_STORE)
    async def verify(
        self, catalog: Catalog, program: Program, verifications: Verifications, data: FormData
    ) -> Template | Redirect:
        """Verify benefits now; the answer is the verification's page (or the form, saying why not)."""
        given: dict[str, Any] = {name: data.get(name, "").strip() or None for name in VERIFY_FIELDS}
        try:
            by = data.get("performed_by", "").strip()
            if not by:
                raise InputError.at("performed_by", "say who is verifying (your name), for the record")
            record = await verify_and_store(catalog, verifications, given, by[:80])
        except InputError as exc:
            return admissions_page(catalog, program, data, form_errors(exc), status_code=400)
        except HttpError as exc:
            view = not_configured_view(exc.problems[0].message)
            return admissions_page(catalog, program, data, {}, status_code=503, extra={"outcome": view})
        return Redirect(f"/admissions/verifications/{record.id}", status_code=303)

    @get("/admissions/verifications/{verification_id:int}", sync_to_thread=True, cache_control=NO_STORE)
    def verification(
        self, catalog: Catalog, program: Program, verifications: Verifications, verification_id: RecordIdParam
    ) -> Template:
        """The outcome in staff words, the mapped benefits, and the estimate form filled from them."""
        record = _record(verifications, verification_id)
        form = {
            "verification_id": str(record.id),
            "start_date": record.request.date_of_service.isoformat(),
            "horizon_weeks": "26",
        }
        extra: dict[str, object] = {}
        if program.program is not None:  # the program's network status with this payer decides
            network = program.program.terms(record.request.payer_id, "mh", "op").network
            form["network"] = ""
            extra["network_hint"] = (
                f"Blank: {NETWORK_LABELS[network]}, as the program's contract with this payer says"
            )
        extra |= {
            "record": record,
            "outcome": outcome_view(record),
            "tables": category_tables(record.benefits) if record.benefits else [],
            "columns": COLUMN_LABELS,
            "not_stated": NOT_STATED,
            "to_enter": missing_values(program, record),
        }
        return admissions_page(catalog, program, form, {}, extra=extra)

    @post("/verifications/{verification_id:int}/again", cache_control=NO_STORE)
    async def verify_again(
        self, catalog: Catalog, verifications: Verifications, verification_id: RecordIdParam, data: FormData
    ) -> Redirect:
        """A new verification with the same inquiry, linked to the earlier record."""
        earlier = await anyio.to_thread.run_sync(_record, verifications, verification_id)
        inquiry = earlier.request
        given = {name: getattr(inquiry, name) for name in (*VERIFY_FIELDS, "provider_npi", "provider_name")}
        given["date_of_service"] = max(inquiry.date_of_service, dt.date.today())
        by = data.get("performed_by", "").strip() or earlier.performed_by
        record = await verify_and_store(catalog, verifications, given, by[:80], earlier.plan_id, earlier.id)
        return Redirect(f"/admissions/verifications/{record.id}", status_code=303)

    @post("/admissions/gfe", sync_to_thread=True, cache_control=NO_STORE)
    def issue_gfe(
        self,
        catalog: Catalog,
        program: Program,
        verifications: Verifications,
        gfes: Gfes,
        data: FormData,
    ) -> Template | Redirect:
        """Issue and keep a Good Faith Estimate for the form's estimate; show it to print."""
        try:
            gfe_id = _issue(catalog, program, verifications, gfes, data)
        except InputError as exc:
            return admissions_page(catalog, program, data, form_errors(exc), status_code=400)
        return Redirect(f"/gfes/{gfe_id}", status_code=303)

    @get("/gfes", sync_to_thread=True, cache_control=NO_STORE)
    def gfe_list(self, gfes: Gfes) -> Template:
        return Template("gfes.html", context={"issued": gfes.list_recent(limit=100), "staff": True})

    @get("/gfes/{gfe_id:int}", sync_to_thread=True, cache_control=NO_STORE)
    def gfe_page(self, gfes: Gfes, gfe_id: RecordIdParam) -> Template:
        """The GFE exactly as issued (stored content, never recomputed)."""
        issued = gfes.get(gfe_id)
        if issued is None:
            raise NotFound.at("gfe_id", f"no Good Faith Estimate #{gfe_id} is stored")
        return Template("gfe.html", context={"issued": issued, "gfe": issued.content, "staff": True})

    @get("/parity", sync_to_thread=False)
    def parity_index(self, catalog: Catalog) -> Template:
        plans = sorted((loaded.plan for loaded in catalog.plans.values()), key=lambda plan: plan.name)
        return Template("parity_index.html", context={"plans": plans, "staff": True})


def _issue(
    catalog: Any,
    program: ProgramCatalog,
    verifications: VerificationStore,
    gfes: GfeStore,
    data: dict[str, str],
) -> int:
    request, _ = screened_request_from_form(data)
    result = run_estimate(catalog, request, verifications, program)
    record = verifications.get(request.verification_id) if request.verification_id is not None else None
    loaded = program.program
    if loaded is None:
        raise InputError.at(None, "the program file did not load: a Good Faith Estimate needs its details")
    by = data.get("issued_by", "").strip()
    if not by:
        raise InputError.at("issued_by", "say who issues the Good Faith Estimate (your name), for the record")
    scenario = data.get("gfe_scenario", "").strip() or next(
        (s.name for s in result.scenarios if s.self_pay_units), "iop"
    )
    content = good_faith_estimate(
        loaded, result, scenario, _patient(data, record), _diagnosis_codes(data.get("diagnosis_codes", ""))
    )
    return gfes.save(content, by[:80], verification_id=request.verification_id)


ROUTES = [AdmissionsFlow]
