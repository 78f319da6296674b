"""Configuration read from the environment, with embedded defaults for a fresh clone."""

from __future__ import annotations

import os
from collections.abc import Mapping
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


# Rows a batch reads, checks and prices at a time: it bounds memory (two chunks are priced at once),
# and with two in flight 80,000 took 10,000,000 rows past 1 GB. Here, not in coverage.batch, so
# that the CLI shows it without loading polars.
DEFAULT_CHUNK_ROWS = 50_000


def default_program_files() -> tuple[Path, Path]:
    """The program file and payer list: `COVERAGE_PROGRAM_FILE` and `COVERAGE_PAYERS_FILE`, else the
    bundled illustrative `programs/sample-program.toml` and `programs/payers.toml`."""
    bundled = Path(__file__).resolve().parents[2] / "programs"
    program = os.environ.get("COVERAGE_PROGRAM_FILE") or bundled / "sample-program.toml"
    payers = os.environ.get("COVERAGE_PAYERS_FILE") or bundled / "payers.toml"
    return Path(program), Path(payers)


# --- web service: staff API keys -----------------------------------------------------------

DEV_STAFF_KEY = "dev-staff-key"
MIN_STAFF_KEY_CHARS = 16


class SettingsError(ValueError):
    """A setting that must stop the service from starting; the message says which and how to fix it."""


class StaffKeys(NamedTuple):
    keys: frozenset[str]
    dev_default: bool  # True: no keys configured, the public dev key is in use (warn loudly)


def staff_api_keys(environ: Mapping[str, str] | None = None) -> StaffKeys:
    """`COVERAGE_API_KEYS` (comma-separated); only when it is truly unset: the documented `dev-staff-key`.

    Fails closed: a variable that is set but lists no key (`" , "`), or a key shorter than
    MIN_STAFF_KEY_CHARS, raises SettingsError instead of quietly falling back to a key anyone
    who has read the docs knows. The dev default lets a fresh clone work out of the box; the
    service logs a warning at start-up whenever it is in use.
    """
    env = os.environ if environ is None else environ
    raw = env.get("COVERAGE_API_KEYS")
    if raw is None:
        return StaffKeys(frozenset({DEV_STAFF_KEY}), dev_default=True)
    configured = frozenset(key.strip() for key in raw.split(",") if key.strip())
    if not configured:
        raise SettingsError(
            "COVERAGE_API_KEYS is set but lists no key: give comma-separated staff keys of at least "
            f"{MIN_STAFF_KEY_CHARS} characters (unset it only on a development machine)"
        )
    short = sum(len(key) < MIN_STAFF_KEY_CHARS for key in configured)
    if short:
        raise SettingsError(
            f"COVERAGE_API_KEYS: {short} of {len(configured)} key(s) are shorter than "
            f"{MIN_STAFF_KEY_CHARS} characters; use long random keys (for example `openssl rand -hex 24`)"
        )
    return StaffKeys(configured, dev_default=False)
