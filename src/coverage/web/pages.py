"""HTML pages: the public Compare page, the staff Admissions workspace, and staff login.

Handlers only turn form fields into a request, call the core, and pick a template; a bad
field re-renders the form (status 400) with its message next to it. Results pages are
`Cache-Control: no-store`; nothing typed on the Compare page is stored or logged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import CacheControlHeader, Cookie
from litestar.exceptions import HTTPException
from litestar.params import QueryParameter, URLEncodedBody
from litestar.response import Redirect, Template

from coverage.errors import EstimateInputError, UnknownPlanError
from coverage.estimate import Estimate, estimate, estimate_for_plan
from coverage.levels import LEVEL_ORDER, LEVELS
from coverage.plain_language import plain_scenarios
from coverage.plans import PlanCatalog
from coverage.quick_plan import NOTES as QUICK_PLAN_NOTES
from coverage.quick_plan import QUICK_PLAN_ID, QuickPlanError, quick_plan
from coverage.web.api import run_estimate
from coverage.web.forms import FormErrors, form_name, request_from_form, screened_request_from_form
from coverage.web.shared import (
    SESSION_COOKIE,
    Catalog,
    StaffController,
    client_address,
    refuse_if_throttled,
    same_origin,
    service_of,
)
from coverage.web.views import (
    HANDOUT_LEVEL_NAMES,
    SCENARIO_COLORS,
    SCREENING_FORM,
    month_rows,
    monthly_cost_chart,
    screening_view,
    unit_count,
)

FormData = URLEncodedBody[dict[str, str]]
NO_STORE = CacheControlHeader(no_store=True)


def _plans(catalog: PlanCatalog) -> list[Any]:
    return sorted((loaded.plan for loaded in catalog.plans.values()), key=lambda plan: plan.name)


def _run(compute: Callable[[], Estimate]) -> Estimate:
    """The estimate, with core errors turned into form-field messages."""
    try:
        return compute()
    except UnknownPlanError:
        raise FormErrors({"plan_id": "choose a plan from the list"}) from None
    except EstimateInputError as exc:
        raise FormErrors({form_name(exc.field): exc.message}) from None


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


def _compare_context(catalog: PlanCatalog, form: Mapping[str, str], errors: dict[str, str]) -> dict[str, Any]:
    return {
        "plans": _plans(catalog),
        "form": form,
        "errors": errors,
        "levels": [LEVELS[level] for level in LEVEL_ORDER],
    }


def _compare_estimate(catalog: PlanCatalog, form: Mapping[str, str]) -> Estimate:
    """A listed plan, or the plan built from the typed numbers (always in network)."""
    if form.get("plan_source") != "typed":
        request = request_from_form(form, verification_id=None)
        return _run(lambda: estimate(catalog, request))  # never a stored verification: those are PHI
    errors: dict[str, str] = {}
    request = None
    try:
        request = request_from_form(form, plan_id=QUICK_PLAN_ID, network="in", verification_id=None)
    except FormErrors as exc:
        errors |= exc.errors
    try:
        loaded = quick_plan(
            copay=form.get("copay", ""),
            coinsurance=form.get("coinsurance", ""),
            deductible=form.get("deductible", ""),
            oop_max=form.get("oop_max", ""),
            start_date=request.start_date if request else dt.date.today(),
        )
    except QuickPlanError as exc:
        errors |= {error.field: error.message for error in exc.errors}
    if errors or request is None:
        raise FormErrors(errors)
    return _run(lambda: estimate_for_plan(loaded, request))


@get("/compare", sync_to_thread=False, include_in_schema=False)
def compare_form(catalog: Catalog) -> Template:
    form = {"start_date": dt.date.today().isoformat(), "plan_source": "list", "network": "in"}
    return _page("compare.html", _compare_context(catalog, form, {}))


@post("/compare", sync_to_thread=False, include_in_schema=False, cache_control=NO_STORE)
def compare_submit(catalog: Catalog, data: FormData) -> Template:
    try:
        result = _compare_estimate(catalog, data)
    except FormErrors as exc:
        return _page("compare.html", _compare_context(catalog, data, exc.errors), status_code=400)
    context = _compare_context(catalog, data, {}) | _results(result) | {"plain": plain_scenarios(result)}
    if result.plan_id == QUICK_PLAN_ID:  # say how the typed numbers were used
        context["quick_plan_notes"] = QUICK_PLAN_NOTES
    return _page("compare.html", context)


# --- staff: Admissions workspace -----------------------------------------------------------


class AdmissionsPages(StaffController):
    include_in_schema = False

    def _context(
        self, catalog: PlanCatalog, form: Mapping[str, str], errors: dict[str, str]
    ) -> dict[str, Any]:
        return {
            "plans": _plans(catalog),
            "form": form,
            "errors": errors,
            "today": dt.date.today(),
            "screening_form": SCREENING_FORM,
        }

    @get("/admissions", sync_to_thread=False)
    def admissions_form(self, catalog: Catalog) -> Template:
        form = {"start_date": dt.date.today().isoformat(), "network": "in", "horizon_weeks": "26"}
        return _page("admissions.html", self._context(catalog, form, {}))

    @post("/admissions", sync_to_thread=False, cache_control=NO_STORE)
    def admissions_submit(self, catalog: Catalog, data: FormData) -> Template:
        """The comparison, led by the screening's recommended scenario when the screening was
        filled in; the "print" button renders the family handout instead, without the screening."""
        try:
            request, recommendation = screened_request_from_form(data)
            result = _run(lambda: run_estimate(catalog, request))
        except FormErrors as exc:
            return _page("admissions.html", self._context(catalog, data, exc.errors), status_code=400)
        if data.get("view") == "print":  # no form values: the screening answers are sensitive
            context = self._context(catalog, {}, {}) | _results(result)
            handout = {"level_names": HANDOUT_LEVEL_NAMES, "unit_count": unit_count}
            return _page("admissions_print.html", context | handout)
        screening = screening_view(recommendation, request) if recommendation else None
        context = self._context(catalog, data, {}) | _results(result)
        return _page("admissions.html", context | {"screening": screening})


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


@post("/login", sync_to_thread=False, include_in_schema=False)
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


@post("/logout", sync_to_thread=False, include_in_schema=False)
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
