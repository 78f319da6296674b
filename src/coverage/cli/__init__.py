"""The `coverage` command line: a thin shell over the core functions.

Each subcommand lives in its own module under `coverage.cli` and exposes
`register(subparsers)`, which adds its parser and sets `handler`. Handlers return an exit
code; bad arguments print one line naming the argument and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import sys
from collections.abc import Sequence

# Subcommand modules, in the order `coverage --help` lists them.
COMMAND_MODULES = ("batch", "estimate", "parity", "plans", "recommend", "verify")


class CliArgumentError(Exception):
    """A bad argument value; the message names the argument and the rule."""


def whole_number(text: str) -> int:
    """argparse type for counts and ids: ASCII digits, at most 18 (int() also takes "٣" and "1_000",
    and a 5,000-digit argument would fail inside int() rather than as a rule)."""
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise argparse.ArgumentTypeError(f"must be a whole number of at most 18 digits, got {text[:24]!r}")
    return int(text)


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
    for name in COMMAND_MODULES:
        importlib.import_module(f"coverage.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except CliArgumentError as exc:
        print(f"coverage: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
