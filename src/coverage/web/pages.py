"""HTML pages: the public Compare page, the staff Admissions workspace, and staff login.

Handlers only turn form fields into a request, call the core, and pick a template; a bad
field re-renders the form (status 400) with its message next to it. Results pages are
`Cache-Control: no-store`; nothing typed on the Compare page is stored or logged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from babel.dates import format_date
from litestar import Request, get, post
from litestar.datastructures import CacheControlHeader, Cookie
from litestar.exceptions import HTTPException
from litestar.params import QueryParameter, URLEncodedBody
from litestar.response import Redirect, Template

from coverage.errors import InputError, NotFound, Problem
from coverage.estimate import Estimate, estimate, estimate_for_plan
from coverage.i18n import LANGUAGES, choose_language, translations
from coverage.levels import LEVEL_ORDER
from coverage.money import parse_money
from coverage.plain_language import LEVEL_DESCRIPTIONS, plain_estimate
from coverage.plans import PlanCatalog
from coverage.program import ProgramCatalog
from coverage.quick_plan import QUICK_PLAN_ID, quick_plan
from coverage.web.api import run_estimate
from coverage.web.forms import (
    COMPARE_LABELS,
    compare_message,
    form_errors,
    request_from_form,
    screened_request_from_form,
)
from coverage.web.shared import (
    SESSION_COOKIE,
    Catalog,
    Program,
    StaffController,
    Verifications,
    client_address,
    refuse_if_throttled,
    same_origin,
    service_of,
)
from coverage.web.views import (
    SCENARIO_COLORS,
    SCREENING_FORM,
    month_rows,
    monthly_cost_chart,
    screening_view,
)

FormData = URLEncodedBody[dict[str, str]]
NO_STORE = CacheControlHeader(no_store=True)


def _plans(catalog: PlanCatalog) -> list[Any]:
    return sorted((loaded.plan for loaded in catalog.plans.values()), key=lambda plan: plan.name)


def _run(compute: Callable[[], Estimate]) -> Estimate:
    """The estimate; an unknown plan is said as the form's plan list says it."""
    try:
        return compute()
    except NotFound as exc:
        if exc.field != "plan_id":
            raise
        raise InputError.at("plan_id", "choose a plan from the list") from None


def _results(result: Estimate) -> dict[str, Any]:
    return {
        "estimate": result,
        "rows": month_rows(result),
        "chart": monthly_cost_chart(result),
        "colors": SCENARIO_COLORS,
    }


def _page(name: str, context: dict[str, Any], status_code: int = 200) -> Template:
    return Template(name, context=context, status_code=status_code)


# --- public: Compare my costs --------------------------------------------------------------

PLAN_SOURCES = ("list", "typed")  # pick a listed plan, or type in the plan's numbers


def _language(request: Request[Any, Any, Any], asked: str | None) -> str:
    return choose_language(asked, request.headers.get("accept-language", ""))


def _compare_context(
    catalog: PlanCatalog, form: Mapping[str, str], errors: dict[str, str], language: str
) -> dict[str, Any]:
    """Only the chosen plan source's fields are on the page (no script needed to hide the other)."""
    source = form.get("plan_source") if form.get("plan_source") in PLAN_SOURCES else "list"
    t = translations(language)
    return {
        "plans": _plans(catalog),
        "form": form,
        "source": source,
        "errors": {name: compare_message(name, form.get(name, ""), t) for name in errors},
        "labels": COMPARE_LABELS,
        "sentences": True,  # each field's message is a whole sentence: no "Label:" before it
        "levels": [LEVEL_DESCRIPTIONS[level] for level in LEVEL_ORDER],
        "lang": language,
        "languages": LANGUAGES,
        "switch_fields": {k: v for k, v in form.items() if k != "lang"},
    }


def _compare_estimate(catalog: PlanCatalog, form: Mapping[str, str]) -> Estimate:
    """A listed plan, or the plan built from the typed numbers (always in network)."""
    if form.get("plan_source") != "typed":
        request = request_from_form(form, verification_id=None)
        return _run(lambda: estimate(catalog, request))  # never a stored verification: those are PHI
    problems: list[Problem] = []
    request = None
    try:
        request = request_from_form(form, plan_id=QUICK_PLAN_ID, network="in", verification_id=None)
    except InputError as exc:
        problems += exc.problems
    try:
        loaded = quick_plan(
            copay=form.get("copay", ""),
            coinsurance=form.get("coinsurance", ""),
            deductible=form.get("deductible", ""),
            oop_max=form.get("oop_max", ""),
            start_date=request.start_date if request else dt.date.today(),
        )
    except InputError as exc:
        problems += exc.problems
    if problems or request is None:
        raise InputError(problems)
    return _run(lambda: estimate_for_plan(loaded, request))


def _plain_results(result: Estimate, form: Mapping[str, str], language: str) -> dict[str, Any]:
    """The results in the visitor's words; the chart and table use the same labels."""
    t = translations(language)
    plain = plain_estimate(
        result,
        language,
        t,
        deductible_met_cents=_met(form.get("deductible_met", "")),
        oop_met_cents=_met(form.get("oop_met", "")),
    )
    names = [scenario.label for scenario in plain.scenarios]
    chart = monthly_cost_chart(
        result,
        names=names,
        month_labels=plain.month_labels,
        title=t.gettext("Your cost per month for each option"),
        description=" ".join(f"{s.label}: {s.summary}" for s in plain.scenarios),
    )
    return {"estimate": result, "plain": plain, "names": names, "chart": chart, "rows": month_rows(result)}


def _met(text: str) -> int:
    """An amount already validated by request_from_form; blank is $0."""
    return parse_money(text) if text.strip() else 0


@get("/compare", sync_to_thread=False, include_in_schema=False)
def compare_form(
    catalog: Catalog,
    request: Request[Any, Any, Any],
    lang: Annotated[str | None, QueryParameter()] = None,
    source: Annotated[str | None, QueryParameter()] = None,
) -> Template:
    form = {"start_date": dt.date.today().isoformat(), "plan_source": source or "list", "network": "in"}
    return _page("compare.html", _compare_context(catalog, form, {}, _language(request, lang)))


@post("/compare", sync_to_thread=False, include_in_schema=False, cache_control=NO_STORE)
def compare_submit(catalog: Catalog, request: Request[Any, Any, Any], data: FormData) -> Template:
    language = _language(request, data.get("lang"))
    try:
        result = _compare_estimate(catalog, data)
    except InputError as exc:
        errors = form_errors(exc)
        return _page("compare.html", _compare_context(catalog, data, errors, language), status_code=400)
    context = _compare_context(catalog, data, {}, language) | _plain_results(result, data, language)
    context["typed_plan"] = result.plan_id == QUICK_PLAN_ID
    return _page("compare.html", context)


# --- staff: Admissions workspace -----------------------------------------------------------


HANDOUT_VIEWS = {"print": "en", "print-es": "es"}  # the handout button pressed -> its language


def _admissions_context(
    catalog: PlanCatalog, program: ProgramCatalog, form: Mapping[str, str], errors: dict[str, str]
) -> dict[str, Any]:
    loaded = program.program
    return {
        "plans": _plans(catalog),
        "payers": loaded.payers if loaded else [],
        "program": loaded.program if loaded else None,
        "program_errors": program.errors,
        "form": form,
        "errors": errors,
        "today": dt.date.today(),
        "screening_form": SCREENING_FORM,
        "staff": True,
    }


def admissions_page(
    catalog: PlanCatalog,
    program: ProgramCatalog,
    form: Mapping[str, str],
    errors: dict[str, str],
    status_code: int = 200,
    extra: dict[str, Any] | None = None,
) -> Template:
    """The Admissions workspace: verify, estimate, hand out; `extra` adds a verification or results."""
    context = _admissions_context(catalog, program, form, errors) | (extra or {})
    return _page("admissions.html", context, status_code=status_code)


class AdmissionsPages(StaffController):
    include_in_schema = False

    @get("/admissions", sync_to_thread=False)
    def admissions_form(self, catalog: Catalog, program: Program) -> Template:
        form = {"start_date": dt.date.today().isoformat(), "network": "in", "horizon_weeks": "26"}
        return admissions_page(catalog, program, form, {})

    @post("/admissions", sync_to_thread=True, cache_control=NO_STORE)  # may read a verification
    def admissions_submit(
        self, catalog: Catalog, verifications: Verifications, program: Program, data: FormData
    ) -> Template:
        """The comparison, led by the screening's recommended scenario when the screening was
        filled in; the "print" button renders the family handout instead, without the screening."""
        try:
            request, recommendation = screened_request_from_form(data)
            result = _run(lambda: run_estimate(catalog, request, verifications, program))
        except InputError as exc:
            return admissions_page(catalog, program, data, form_errors(exc), status_code=400)
        if data.get("view") in HANDOUT_VIEWS:  # no form values: the screening answers are sensitive
            language = HANDOUT_VIEWS[data["view"]]
            prepared = format_date(dt.date.today(), "long", locale=language)
            context = _admissions_context(catalog, program, {}, {}) | _plain_results(result, data, language)
            return _page("admissions_print.html", context | {"lang": language, "prepared": prepared})
        screening = screening_view(recommendation, request) if recommendation else None
        extra = _results(result) | {"screening": screening}
        return admissions_page(catalog, program, data, {}, extra=extra)


# --- staff login (a cookie for browsers; API clients send X-API-Key) -----------------------


def _safe_next(target: str | None) -> str:
    """Only a path on this site, never an open redirect to another host.

    Browsers drop tabs and newlines inside a URL, so "/\\t/evil.example" would be "//evil.example":
    a target with any unprintable character is refused too.
    """
    target = target or ""
    on_site = target.startswith("/") and not target.startswith("//") and "\\" not in target
    return target if on_site and target.isprintable() else "/admissions"


@get("/login", sync_to_thread=False, include_in_schema=False)
def login_form(next_path: Annotated[str | None, QueryParameter(name="next")] = None) -> Template:
    return _page("login.html", {"next": _safe_next(next_path), "errors": {}})


@post("/login", sync_to_thread=True, include_in_schema=False)  # saves a session
def login(request: Request[Any, Any, Any], data: FormData) -> Template | Redirect:
    """A fresh server-side session for a valid key; failures count toward the client's 429."""
    key = data.get("api_key", "").strip()
    target = _safe_next(data.get("next"))
    refuse_if_throttled(request)
    service = service_of(request)
    if not service.staff.accepts_key(key):
        service.failures.failed(client_address(request))
        errors = {"api_key": "is not a valid staff key"}
        return _page("login.html", {"next": target, "errors": errors}, status_code=403)
    cookie = Cookie(
        key=SESSION_COOKIE,
        value=service.staff.start_session(key),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return Redirect(target, status_code=303, cookies=[cookie])


@post("/logout", sync_to_thread=True, include_in_schema=False)  # deletes a session
def logout(request: Request[Any, Any, Any]) -> Redirect:
    """Ends the session on the server too: the cookie's value is worthless from now on."""
    token = request.cookies.get(SESSION_COOKIE)
    if token is not None:
        if not same_origin(request):
            raise HTTPException(status_code=403, detail="the request's Origin is not this site")
        service_of(request).staff.end_session(token)
    return Redirect("/compare", status_code=303, cookies=[Cookie(key=SESSION_COOKIE, value="", max_age=0)])


@get("/", sync_to_thread=False, include_in_schema=False)
def home() -> Redirect:
    return Redirect("/compare")


ROUTES = [home, compare_form, compare_submit, AdmissionsPages, login_form, login, logout]
