"""What several subcommands share: the plan options and the catalog they name."""

from __future__ import annotations

import argparse

from coverage.errors import InputError
from coverage.plans import LoadedPlan, PlanCatalog, load_catalog
from coverage.settings import default_plans_dir


def whole_number(text: str) -> int:
    """argparse type for counts and ids: ASCII digits, at most 18 (int() also takes "٣" and "1_000",
    and a 5,000-digit argument would fail inside int() rather than as a rule)."""
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise argparse.ArgumentTypeError(f"must be a whole number of at most 18 digits, got {text[:24]!r}")
    return int(text)


def plan_command(
    subparsers: argparse._SubParsersAction, name: str, summary: str, description: str
) -> argparse.ArgumentParser:
    """A subcommand about one plan: --plan ID (required) and --plans-dir DIR."""
    parser = subparsers.add_parser(name, help=summary, description=description)
    parser.add_argument("--plan", required=True, help="plan id (see `coverage plans list`)")
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
