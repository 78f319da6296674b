"""What every web area shares: staff guard, error bodies, templates, the plan catalog and the
verification store.

An area module (`coverage.web.<area>`) imports from here and exposes `ROUTES`; the app
factory imports it and lists it once. Staff-only handlers live on a `StaffController` subclass (or pass
`guards=[staff_only], security=STAFF_SECURITY`); everything else is public.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
from jinja2 import pass_context
from jinja2.runtime import Context
from litestar import Controller, Request, Response, post
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    TooManyRequestsException,
)
from litestar.exceptions import ValidationException as LitestarValidationException
from litestar.handlers import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
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
from coverage.program import ProgramCatalog
from coverage.stores import GfeStore, VerificationStore
from coverage.stores.sessions import SESSION_TTL, SessionStore, StoredSession, digest
from coverage.stores.sql import StoreError
from coverage.validation import human_message
from coverage.web.errors import ErrorBody, HttpError, StrictJSON, error_response, status_of
from coverage.web.throttle import FailureLimiter

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
    "documented",
    "error_response",
    "json_only",
    "json_post",
    "provide_catalog",
    "provide_gfes",
    "provide_program",
    "provide_verifications",
    "service_of",
    "staff_errors",
    "staff_only",
    "template_config",
]

TEMPLATES_DIR = Path(__file__).resolve().parents[3] / "templates"
STATIC_DIR = TEMPLATES_DIR / "static"
API_KEY_HEADER = "X-API-Key"
SESSION_COOKIE = "coverage_staff"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
STAFF_SECURITY: list[dict[str, list[str]]] = [{"staffApiKey": []}]
log = logging.getLogger("coverage.web")


# --- documented error answers (OpenAPI) -----------------------------------------------------

_ERROR_MEANINGS = {
    400: "The request's shape or types are wrong; every bad field is named",
    401: "No staff credentials: send the X-API-Key header",
    403: "The X-API-Key is not a staff key (or a cookie-authenticated change came from another site)",
    404: "No such plan or verification",
    413: "The body, or the result it would produce, is over the stated limit",
    415: "The body is not of the media type this route reads",
    422: "The request breaks a rule against the plan (or the CSV lacks a required column)",
    429: "Too many failed staff keys or logins from this address: wait Retry-After seconds",
    503: "Benefit verification is not configured, or the database is unavailable",
}


def documented(*codes: int) -> dict[int, ResponseSpec]:
    """OpenAPI answers for these error statuses, each with the `{"errors": [...]}` body."""
    return {
        code: ResponseSpec(
            data_container=ErrorBody, description=_ERROR_MEANINGS[code], generate_examples=False
        )
        for code in codes
    }


def staff_errors(*codes: int) -> dict[int, ResponseSpec]:
    """`documented` plus what every staff route may answer: 400 (replacing Litestar's own body
    for a bad parameter), and the guard's 401, 403, 429."""
    return documented(400, 401, 403, 429, *codes)


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
    field = API_KEY_HEADER if type(exc) in (NotAuthorizedException, PermissionDeniedException) else None
    response = error_response(exc.status_code, [Problem(field, exc.detail)])
    response.headers.update(exc.headers or {})  # Allow on a 405, Retry-After on a 429
    return response


def _on_store_error(_: Request[Any, Any, Any], exc: StoreError) -> Response[ErrorBody]:
    """The database is down or refused: a 503 for the client, the PHI-free reason in the log."""
    log.error("database: %s", exc)
    return error_response(503, [Problem(None, "the service's database is unavailable; try again shortly")])


EXCEPTION_HANDLERS: dict[type[Exception], Any] = {
    # one handler for the family; the subclasses are listed so that none logs a stack trace
    **dict.fromkeys((InputError, NotFound, HttpError), _on_input_error),
    HTTPException: _on_http_exception,
    StoreError: _on_store_error,
}


# --- staff authentication ------------------------------------------------------------------


class StaffAuth:
    """Staff credentials: `X-API-Key` checked in constant time, or a server-side login session.

    A session is valid until it expires (SESSION_TTL), is ended by logout, or the key that
    opened it leaves COVERAGE_API_KEYS (its fingerprint is checked on every request). Sessions
    live in the database, so every service process sharing it honours every login and logout;
    the session calls block on it (run them in a worker thread).
    """

    def __init__(self, keys: Iterable[str], sessions: SessionStore) -> None:
        keys = tuple(keys)
        self._keys = tuple(key.encode() for key in keys)
        self._fingerprints = frozenset(digest(key) for key in keys)
        self._sessions = sessions

    def accepts_key(self, key: str) -> bool:
        return any(hmac.compare_digest(key.encode(), known) for known in self._keys)

    def start_session(self, key: str) -> str:
        """A fresh random session id for a key that `accepts_key`; only its hash is stored."""
        token = secrets.token_urlsafe(32)
        expires_at = dt.datetime.now(dt.UTC) + SESSION_TTL
        self._sessions.save(StoredSession(digest(token), digest(key), expires_at))
        return token

    def accepts_session(self, token: str) -> bool:
        session = self._sessions.get(digest(token))
        return (
            session is not None
            and session.expires_at > dt.datetime.now(dt.UTC)
            and session.key_fingerprint in self._fingerprints
        )

    def end_session(self, token: str) -> None:
        self._sessions.delete(digest(token))


class Service(Struct, frozen=True):
    """What the handlers need at run time; lives on `app.state.service`."""

    catalog: PlanCatalog
    staff: StaffAuth
    verifications: VerificationStore
    failures: FailureLimiter
    program: ProgramCatalog  # the program file and payer list (program None: see its errors)
    gfes: GfeStore


def service_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Service:
    return connection.app.state.service


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    return connection.client.host if connection.client else "unknown"


def refuse_if_throttled(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """429 with Retry-After while this client has too many recent failed credentials."""
    wait = service_of(connection).failures.retry_after(client_address(connection))
    if wait is not None:
        raise TooManyRequestsException(
            f"too many failed staff keys or logins from this address; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )


def same_origin(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """The request says it comes from this site: Origin (else Referer) names this scheme and host.

    Checked on state-changing requests that a cookie authenticates (cross-site request
    forgery); a request with neither header is refused, as every current browser sends Origin.
    """
    claimed = connection.headers.get("origin")
    if claimed is None and (referer := connection.headers.get("referer")):
        parts = urlsplit(referer)
        claimed = f"{parts.scheme}://{parts.netloc}"
    return claimed is not None and claimed.rstrip("/") == str(connection.base_url).rstrip("/")


async def staff_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: 401 without credentials, 403 for a wrong key (browsers are sent to /login),
    429 after too many failures, 403 for a cookie-authenticated change from another site.

    Async because Litestar runs a synchronous guard in a worker thread on every request; the key
    checks are in memory and take microseconds, so only a session lookup leaves the loop (for a
    worker thread: the database may be across the network).
    """
    refuse_if_throttled(connection)
    service = service_of(connection)
    key = connection.headers.get(API_KEY_HEADER)
    if key is not None:
        if service.staff.accepts_key(key):
            return
        service.failures.failed(client_address(connection))
        raise PermissionDeniedException(f"{API_KEY_HEADER} is not a valid staff key")
    token = connection.cookies.get(SESSION_COOKIE)
    if token is not None and await anyio.to_thread.run_sync(service.staff.accepts_session, token):
        if connection.scope["method"] not in SAFE_METHODS and not same_origin(connection):
            raise HTTPException(status_code=403, detail="the request's Origin is not this site")
        return
    raise NotAuthorizedException(f"staff only: send the {API_KEY_HEADER} header (or log in at /login)")


async def json_only(request: Request[Any, Any, Any]) -> None:
    """Before-request hook of JSON-body routes: 415 unless Content-Type is application/json.

    A hook, not a guard: Litestar copies the route handler for every guard it calls, on every
    request. It runs after the guards (401 and 403 come first) and before the body is read.
    """
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        raise HTTPException(
            status_code=415, detail="send the body as JSON with the header Content-Type: application/json"
        )


def json_post(path: str, body: type[Struct], *errors: int, status_code: int = 200, **options: Any) -> Any:
    """A POST route reading a strict JSON `body` (StrictJSON: every bad field named in one 400;
    json_only: 415 unless JSON), with its other error answers documented."""
    return post(
        path,
        dto=StrictJSON[body],
        return_dto=None,
        status_code=status_code,
        before_request=json_only,
        responses=staff_errors(415, *errors),
        **options,
    )


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


Program = NamedDependency[ProgramCatalog]  # `program: Program`
Gfes = NamedDependency[GfeStore]  # `gfes: Gfes`


def provide_program(state: State) -> ProgramCatalog:
    return state.service.program


def provide_gfes(state: State) -> GfeStore:
    return state.service.gfes
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
