"""Dated national figures (like OpenFisca parameters): Medicare's Part B deductible, Part A
deductible (the per-day cap) and IOP/PHP hour rules, each kept once by effective date.

A plan file names a figure as the string "national:<file>.<name>" (e.g.
"national:medicare.part_b_deductible") wherever it would write the value; loading puts in the
value in force on the plan's effective start. Validation is strict and located: an unknown
name, a plan start with no value in force, or a value that changes within the plan's
effective period is an error naming the plan file's key path.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import msgspec
from msgspec import Struct, field

PREFIX = "national:"
PARAMS_DIR = Path(__file__).resolve().parent


class Value(Struct, forbid_unknown_fields=True, frozen=True):
    from_: dt.date = field(name="from")
    value: Any
    source: str


class Figure(Struct, forbid_unknown_fields=True, frozen=True):
    citation: str
    values: list[Value]

    def in_force(self, day: dt.date) -> Value | None:
        """The value that applies on `day`: the last one from on or before it."""
        applies = [value for value in self.values if value.from_ <= day]
        return applies[-1] if applies else None


class Reference(Struct, frozen=True):
    """A plan-file key resolved to a national figure, for its source line."""

    name: str
    value: Value
    citation: str

    def describe(self) -> str:
        return f"national figure {self.name} from {self.value.from_} ({self.citation}; {self.value.source})"


@cache
def figures() -> dict[str, Figure]:
    """Every figure of every params file, by "<file>.<name>"; checked once: dated values in order."""
    found: dict[str, Figure] = {}
    for path in sorted(PARAMS_DIR.glob("*.toml")):
        table = msgspec.convert(tomllib.loads(path.read_text(encoding="utf-8")), dict[str, Figure])
        for name, figure in table.items():
            days = [value.from_ for value in figure.values]
            if not days or days != sorted(set(days)):
                raise ValueError(f"{path.name}: {name}: values must be listed by rising `from` date")
            found[f"{path.stem}.{name}"] = figure
    return found


def resolve(
    raw: dict[str, Any], start: dt.date, end: dt.date
) -> tuple[dict[str, Any], dict[str, Reference], list[tuple[str, str, str]]]:
    """`raw` (a plan file's TOML) with every "national:" reference replaced by its value in force
    over [start, end]; the references by key path; and (key path, message, value) problems."""
    references: dict[str, Reference] = {}
    problems: list[tuple[str, str, str]] = []

    def walk(node: Any, path: str) -> Any:
        if isinstance(node, dict):
            return {key: walk(value, f"{path}.{key}" if path else key) for key, value in node.items()}
        if not (isinstance(node, str) and node.startswith(PREFIX)):
            return node
        name = node.removeprefix(PREFIX)
        figure = figures().get(name)
        problem = None
        if figure is None:
            problem = f"no national figure {name!r} (known: {', '.join(figures())})"
        elif (value := figure.in_force(start)) is None:
            problem = f"{name} has no value in force on {start} (the first is from {figure.values[0].from_})"
        elif changes := [later.from_ for later in figure.values if start < later.from_ <= end]:
            problem = f"{name} changes on {changes[0]}, within the effective period: split the plan"
        if problem is not None:
            problems.append((path, problem, repr(node)))
            return node
        assert figure is not None and value is not None
        references[path] = Reference(name, value, figure.citation)
        return value.value

    return walk(raw, ""), references, problems
