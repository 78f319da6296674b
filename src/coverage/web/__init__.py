"""The web service: JSON API plus the admissions and compare pages (`uvicorn coverage.web:app`).

`app` is built on first access, so importing `create_app` (tests, other areas) neither reads
the environment nor loads plans. A setting that must stop the service (SettingsError) ends the
process with its one-line message instead of a traceback.
"""

from __future__ import annotations

from typing import Any

from coverage.settings import SettingsError
from coverage.web.factory import create_app

__all__ = ["app", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "app":
        try:
            globals()["app"] = create_app()
        except SettingsError as exc:
            raise SystemExit(f"coverage: cannot start: {exc}") from None
        return globals()["app"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
