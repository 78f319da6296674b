"""Configuration read from the environment, with embedded defaults for a fresh clone."""

from __future__ import annotations

import os
from pathlib import Path


def default_plans_dir() -> Path:
    """`COVERAGE_PLANS_DIR`, else `./plans`, else the repository's bundled `plans/`."""
    configured = os.environ.get("COVERAGE_PLANS_DIR")
    if configured:
        return Path(configured)
    here = Path("plans")
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[2] / "plans"
