"""The `coverage` command line: a thin shell over the core functions.

Each subcommand lives in its own module under `coverage.cli` and exposes
`register(subparsers)`, which adds its parser and sets `handler` (and, where request fields
have other names on the command line, `options`: field -> option). Handlers return an exit
code; bad input (an `InputError`, from the core or the handler) prints one line naming the
option and the rule, and exits 2.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
from collections.abc import Mapping, Sequence

from coverage.cli import batch, estimate, gfe, parity, plans, recommend, verify
from coverage.errors import InputError, Problem
from coverage.stores.sql import StoreError

# Subcommand modules, in the order `coverage --help` lists them.
COMMAND_MODULES = (batch, estimate, gfe, parity, plans, recommend, verify)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"coverage: error: {message}\n")


def _version() -> str:
    """The installed distribution's version (pyproject.toml), so there is one place to bump it."""
    try:
        return importlib.metadata.version("coverage-estimator")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="coverage", description="Behavioral-health benefit and cost estimates.")
    parser.add_argument("--version", action="version", version=f"coverage {_version()}")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def error_line(error: InputError, options: Mapping[str, str]) -> str:
    """The one line for bad input: each problem as "OPTION: rule" (the whole input: the rule)."""
    if len(error.problems) > 1 and str(error) != "; ".join(map(str, error.problems)):
        return str(error)  # a summary says it better than the list
    return "; ".join(
        str(Problem(options.get(problem.field or "", problem.field), problem.message))
        for problem in error.problems
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except InputError as exc:
        print(f"coverage: error: {error_line(exc, getattr(args, 'options', {}))}", file=sys.stderr)
        return 2
    except StoreError as exc:  # the database, not the input: unreachable, or newer than this program
        print(f"coverage: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
