"""`coverage plans check|list`: validate and list plan files."""

from __future__ import annotations

import argparse
import sys

from coverage.plans import load_catalog
from coverage.settings import default_plans_dir


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("plans", help="validate or list plan files")
    actions = parser.add_subparsers(dest="action", required=True)
    check = actions.add_parser("check", help="validate every plan file; exit 1 on any error")
    check.add_argument("plans_dir", nargs="?", default=None, help="directory (default: ./plans)")
    check.set_defaults(handler=check_plans)
    listing = actions.add_parser("list", help="list the plans that load")
    listing.add_argument("--plans-dir", default=None)
    listing.set_defaults(handler=list_plans)


def check_plans(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.plans_dir or default_plans_dir())
    for plan_id, loaded in sorted(catalog.plans.items()):
        print(f"ok     {loaded.file}  ({plan_id})")
    for error in catalog.errors:
        print(f"error  {error}", file=sys.stderr)
    print(f"{len(catalog.plans)} plan(s) loaded, {len(catalog.errors)} error(s)")
    return 1 if catalog.errors else 0


def list_plans(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.plans_dir or default_plans_dir())
    for plan_id, loaded in sorted(catalog.plans.items()):
        plan = loaded.plan
        print(f"{plan_id:36} {plan.kind:18} {plan.effective.start}..{plan.effective.end}  {plan.name}")
    for error in catalog.errors:
        print(f"error  {error}", file=sys.stderr)
    return 0
