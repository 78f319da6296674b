"""What every web area shares: staff guard, error bodies, templates, the plan catalog and the
verification store.

An area module (`coverage.web.<area>`) imports from here and exposes `ROUTES`; the app
factory imports it and lists it once. Staff-only handlers live on a `StaffController` subclass (or pass
`guards=[staff_only], security=STAFF_SECURITY`); everything else is public.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from litestar import Controller, Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.exceptions import ValidationException as LitestarValidationException
from litestar.handlers import BaseRouteHandler
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect
from litestar.template import TemplateConfig
from msgspec import Struct

from coverage.errors import InputError, NotFound, Problem
from coverage.i18n import DEFAULT_LANGUAGE, translations
from coverage.levels import CATEGORY_LABELS
from coverage.money import format_usd
from coverage.plans import PlanCatalog
from coverage.pricing import parts
from coverage.stores import VerificationStore
from coverage.web.errors import ErrorBody, HttpError, error_response, human_message, status_of

__all__ = [  # re-exported so an area module needs only this import
    "API_KEY_HEADER",
    "EXCEPTION_HANDLERS",
    "STAFF_SECURITY",
    "Catalog",
    "ErrorBody",
    "HttpError",
    "Problem",
    "StaffController",
    "Verifications",
    "error_response",
    "provide_catalog",
    "provide_verifications",
    "service_of",
    "staff_only",
    "template_config",
]

TEMPLATES_DIR = Path(__file__).resolve().parents[3] / "templates"
STATIC_DIR = TEMPLATES_DIR / "static"
API_KEY_HEADER = "X-API-Key"
SESSION_COOKIE = "coverage_staff"
STAFF_SECURITY: list[dict[str, list[str]]] = [{"staffApiKey": []}]


# --- error handlers ----------------------------------------------------------------------


def _wants_html(request: Request[Any, Any, Any]) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _on_input_error(_: Request[Any, Any, Any], exc: InputError) -> Response[ErrorBody]:
    """The one handler for input problems, from the core or a handler: every problem listed."""
    return error_response(status_of(exc), exc.problems)


def _validation_error(item: dict[str, Any]) -> Problem:
    """One item of Litestar's ValidationException.extra; key "data" is the missing body itself."""
    key = item.get("key")
    if key == "data":
        return Problem(None, "a JSON request body is required")
    return Problem(key, human_message(str(item.get("message", "")), key))


def _on_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Litestar's own errors in our shape; a browser without staff credentials goes to /login."""
    if isinstance(exc, NotAuthorizedException | PermissionDeniedException) and _wants_html(request):
        return Redirect("/login", query_params={"next": request.url.path}, status_code=303)
    if isinstance(exc, LitestarValidationException) and isinstance(exc.extra, list):
        errors = [_validation_error(item) for item in exc.extra if isinstance(item, dict)]
        return error_response(exc.status_code, errors or [Problem(None, exc.detail)])
    field = API_KEY_HEADER if isinstance(exc, NotAuthorizedException | PermissionDeniedException) else None
    return error_response(exc.status_code, [Problem(field, exc.detail)])


EXCEPTION_HANDLERS: dict[type[Exception], Any] = {
    # one handler for the family; the subclasses are listed so that none logs a stack trace
    **dict.fromkeys((InputError, NotFound, HttpError), _on_input_error),
    HTTPException: _on_http_exception,
}


# --- staff authentication ------------------------------------------------------------------


def session_token(key: str) -> str:
    """The login cookie's value for a key: an HMAC of it, so the cookie never holds the key.

    Deterministic, so every worker accepts it and removing a key from COVERAGE_API_KEYS
    logs out everyone who signed in with it.
    """
    return hmac.new(key.encode(), b"coverage staff session v1", hashlib.sha256).hexdigest()


class StaffAuth:
    """Checks staff credentials in constant time: an `X-API-Key` header or the login cookie."""

    def __init__(self, keys: Iterable[str]) -> None:
        keys = tuple(keys)
        self._keys = tuple(key.encode() for key in keys)
        self._tokens = tuple(session_token(key).encode() for key in keys)

    def accepts_key(self, key: str) -> bool:
        return any(hmac.compare_digest(key.encode(), known) for known in self._keys)

    def accepts_session(self, token: str) -> bool:
        return any(hmac.compare_digest(token.encode(), known) for known in self._tokens)


class Service(Struct, frozen=True):
    """What the handlers need at run time; lives on `app.state.service`."""

    catalog: PlanCatalog
    staff: StaffAuth
    verifications: VerificationStore


def service_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Service:
    return connection.app.state.service


def staff_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: 401 without credentials, 403 for a wrong key (browsers are sent to /login)."""
    staff = service_of(connection).staff
    key = connection.headers.get(API_KEY_HEADER)
    if key is not None:
        if staff.accepts_key(key):
            return
        raise PermissionDeniedException(f"{API_KEY_HEADER} is not a valid staff key")
    token = connection.cookies.get(SESSION_COOKIE)
    if token is not None and staff.accepts_session(token):
        return
    raise NotAuthorizedException(f"staff only: send the {API_KEY_HEADER} header (or log in at /login)")


class StaffController(Controller):
    """Base for staff-only routes: the guard plus the API-key note in the OpenAPI schema."""

    guards = [staff_only]  # noqa: RUF012 (Litestar reads these class attributes)
    security = STAFF_SECURITY


# --- dependencies and templates ------------------------------------------------------------

Catalog = NamedDependency[PlanCatalog]  # annotate a handler parameter `catalog: Catalog`


def provide_catalog(state: State) -> PlanCatalog:
    """Dependency `catalog`: the plans loaded at start-up (with the errors of broken files)."""
    return state.service.catalog


Verifications = NamedDependency[VerificationStore]  # `verifications: Verifications`


def provide_verifications(state: State) -> VerificationStore:
    """Dependency `verifications`: the store the app was built with."""
    return state.service.verifications
@pass_context
def _gettext(context: Context, message: str) -> str:
    return translations(context.get("lang", DEFAULT_LANGUAGE)).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, count: int) -> str:
    return translations(context.get("lang", DEFAULT_LANGUAGE)).ngettext(singular, plural, count)


def _register_filters(engine: JinjaTemplateEngine) -> None:
    """`usd`, and gettext through jinja2.ext.i18n in the language of the context's `lang`."""
    engine.engine.filters["usd"] = format_usd
    engine.engine.globals["cost_parts"] = parts  # the cost parts and their labels, declared once
    engine.engine.globals["category_labels"] = CATEGORY_LABELS
    engine.engine.add_extension("jinja2.ext.i18n")
    engine.engine.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """Jinja2 over top-level `templates/` (autoescaped), with the `usd` filter (cents -> "$1,234.56")
    and `cost_parts` (coverage.pricing.parts)."""
    return TemplateConfig(
        directory=TEMPLATES_DIR, engine=JinjaTemplateEngine, engine_callback=_register_filters
    )
