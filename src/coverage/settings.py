"""Configuration read from the environment, with embedded defaults for a fresh clone."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple


def default_plans_dir() -> Path:
    """`COVERAGE_PLANS_DIR`, else `./plans`, else the repository's bundled `plans/`."""
    configured = os.environ.get("COVERAGE_PLANS_DIR")
    if configured:
        return Path(configured)
    here = Path("plans")
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[2] / "plans"


# --- web service: staff API keys -----------------------------------------------------------

DEV_STAFF_KEY = "dev-staff-key"


class StaffKeys(NamedTuple):
    keys: frozenset[str]
    dev_default: bool  # True: no keys configured, the public dev key is in use (warn loudly)


def staff_api_keys() -> StaffKeys:
    """`COVERAGE_API_KEYS` (comma-separated); unset or blank: the documented `dev-staff-key`.

    The dev default lets a fresh clone work out of the box; the service logs a warning at
    start-up whenever it is in use, because anyone who has read the docs knows it.
    """
    configured = frozenset(
        key.strip() for key in os.environ.get("COVERAGE_API_KEYS", "").split(",") if key.strip()
    )
    if configured:
        return StaffKeys(configured, dev_default=False)
    return StaffKeys(frozenset({DEV_STAFF_KEY}), dev_default=True)
