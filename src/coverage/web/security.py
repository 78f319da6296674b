"""What every answer carries and what the access log leaves out (docs/rules.md, "Security and input limits").

The headers are set on `http.response.start`, so they reach every answer: pages, JSON,
static files, errors and the redirects of the staff guard alike.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

# The pages use no script except the print buttons' `onclick="window.print()"`, allowed by its
# hash; every style comes from /static (the chart's colors are CSS classes). Nothing may frame a
# page (clickjacking).
_PRINT_HANDLER_HASH = "sha256-MguIPR6qNR8D3B+eAlK+bIRTZe8t3wkOY4B/56Me9FU="
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; "
    f"script-src 'unsafe-hashes' '{_PRINT_HANDLER_HASH}'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
# /schema renders Swagger UI from files this service serves (/schema-assets), started by the
# page's one inline script: nothing is loaded from another origin.
SCHEMA_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'"
)
COMMON_HEADERS = (
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
)


async def security_headers(message: Message, scope: Scope) -> None:
    """before_send hook: CSP, nosniff, DENY framing and no referrer on every HTTP answer.

    A hook rather than a middleware because Litestar runs hooks for every answer, including
    the 404 and 405 of paths no route matches.
    """
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in COMMON_HEADERS:
        headers[name] = value
    headers["content-security-policy"] = SCHEMA_CSP if scope["path"].startswith("/schema") else PAGE_CSP


class DropQueryString(logging.Filter):
    """uvicorn's access log without query strings: `?next=` and friends can carry what staff typed."""

    def filter(self, record: logging.LogRecord) -> bool:
        args: Any = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], args[2].partition("?")[0], args[3], args[4])
        return True


def quiet_access_log() -> None:
    """Install DropQueryString on uvicorn's access logger (once, however many apps are built)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(existing, DropQueryString) for existing in access.filters):
        access.addFilter(DropQueryString())
