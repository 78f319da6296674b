"""What several subcommands share: the plan options and the catalog they name."""

from __future__ import annotations

import argparse

from coverage.errors import InputError
from coverage.plans import LoadedPlan, PlanCatalog, load_catalog
from coverage.program import LoadedProgram, load_program
from coverage.settings import default_plans_dir, default_program_files


def whole_number(text: str) -> int:
    """argparse type for counts and ids: ASCII digits, at most 18 (int() also takes "٣" and "1_000",
    and a 5,000-digit argument would fail inside int() rather than as a rule)."""
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise argparse.ArgumentTypeError(f"must be a whole number of at most 18 digits, got {text[:24]!r}")
    return int(text)


def plan_command(
    subparsers: argparse._SubParsersAction,
    name: str,
    summary: str,
    description: str,
    plan_help: str | None = None,
) -> argparse.ArgumentParser:
    """A subcommand about one plan: --plan ID (required unless `plan_help` says what leaving it
    out means) and --plans-dir DIR."""
    parser = subparsers.add_parser(name, help=summary, description=description)
    parser.add_argument(
        "--plan", required=plan_help is None, help=plan_help or "plan id (see `coverage plans list`)"
    )
    parser.add_argument("--plans-dir", default=None)
    return parser


def catalog_of(args: argparse.Namespace) -> PlanCatalog:
    """The plans in --plans-dir, else COVERAGE_PLANS_DIR, else ./plans or the bundled ones."""
    return load_catalog(args.plans_dir or default_plans_dir())


def unknown_plan_option(args: argparse.Namespace, catalog: PlanCatalog) -> InputError:
    known = ", ".join(sorted(catalog.plans)) or "none loaded"
    return InputError.at("--plan", f"no plan {args.plan!r} (known: {known})")


def plan_of(args: argparse.Namespace, catalog: PlanCatalog) -> LoadedPlan:
    """The plan --plan names; an unknown id lists the known ones."""
    loaded = catalog.get(args.plan)
    if loaded is None:
        raise unknown_plan_option(args, catalog)
    return loaded


def program_of() -> LoadedProgram:
    """The program file and payer list (COVERAGE_PROGRAM_FILE, COVERAGE_PAYERS_FILE, else the bundled
    sample); a file that does not load names its first located error."""
    loaded = load_program(*default_program_files())
    if loaded.program is None:
        raise InputError.at("program file", f"{loaded.errors[0]} ({len(loaded.errors)} error(s) in all)")
    return loaded.program
