"""The web service: JSON API plus the admissions and compare pages (`uvicorn coverage.web:app`).

`app` is built on first access, so importing `create_app` (tests, other areas) neither reads
the environment nor loads plans.
"""

from __future__ import annotations

from typing import Any

from coverage.web.factory import create_app

__all__ = ["app", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "app":
        globals()["app"] = create_app()
        return globals()["app"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
