"""msgspec's validation said in words, field by field, for the API, the pages and the CLI alike.

msgspec stops at the first problem and speaks in types ("Expected `int` >= 0"); a person wants
every bad field named with the rule in words. No web framework here: the CLI uses it too.
"""

from __future__ import annotations

import re
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

import msgspec
from msgspec import Struct

from coverage.errors import Problem
from coverage.money import format_usd

_TYPE_WORDS = {
    "int": "a whole number",
    "str": "a string",
    "bool": "true or false",
    "date": "a date written YYYY-MM-DD, such as 2026-03-02",
    "object": "a JSON object",
    "array": "a JSON array",
    "float": "a number",
    "null": "null",
}
_GOT_WORDS = {"float": "a number with decimals", "str": "a string", "int": "a number", "bool": "true/false"}
_BOUND_WORDS = {">=": "at least", "<=": "at most", ">": "more than", "<": "less than"}
_CENTS_HINT = " (such as 150000 for $1,500.00)"


def literal_choices(annotation: Any) -> list[str]:
    """The allowed values of a Literal (also inside Optional/Annotated), for "must be one of"."""
    if get_origin(annotation) is Literal:
        return [str(choice) for choice in get_args(annotation)]
    if get_origin(annotation) in (Annotated, Union, types.UnionType):
        return [choice for arg in get_args(annotation) for choice in literal_choices(arg)]
    return []


def human_message(message: str, field: str | None, annotation: Any = None) -> str:
    """msgspec's validation message for one field, said as the rule it broke."""
    cents = bool(field) and str(field).endswith("_cents")
    if bound := re.fullmatch(r"Expected `int` (>=|<=|>|<) (-?\d+)", message):
        limit = int(bound[2])
        if bound[1] == ">=" and limit == 0:
            return "must not be negative"
        shown = f"{limit} cents ({format_usd(limit)})" if cents else str(limit)
        return f"must be {_BOUND_WORDS[bound[1]]} {shown}"
    if wrong := re.fullmatch(r"Expected `([^`]+)`, got `(\w+)`", message):
        expected = [_TYPE_WORDS.get(part.strip(), part.strip()) for part in wrong[1].split("|")]
        words = " or ".join(expected)
        if cents and "int" in wrong[1]:
            words = words.replace("a whole number", "a whole number of cents", 1) + _CENTS_HINT
        return f"must be {words}, not {_GOT_WORDS.get(wrong[2], wrong[2])}"
    if value := re.fullmatch(r"Invalid enum value (.+)", message):
        choices = literal_choices(annotation)
        if choices:
            return f"must be one of {', '.join(choices)}; got {value[1]}"
        return f"is not an allowed value: {value[1]}"
    if message in ("Integer value out of range", "Number out of range"):
        return "is a number far outside the allowed range"
    if "RFC3339 encoded date" in message:
        return f"must be {_TYPE_WORDS['date']}"
    return message


def split_path(message: str) -> tuple[str, str]:
    """("Expected ... - at `$.a[0]`") -> ("Expected ...", ".a[0]")."""
    text, _, at = message.partition(" - at `$")
    return text, at.rstrip("`")


def field_errors(data: Any, struct_type: type[Struct]) -> list[Problem]:
    """Every field of `data` (decoded JSON) that `struct_type` rejects, each with its rule."""
    if not isinstance(data, dict):
        return [Problem(None, f"the body must be a JSON object (the fields of {struct_type.__name__})")]
    hints = get_type_hints(struct_type, include_extras=True)
    fields = {field.encode_name: field for field in msgspec.structs.fields(struct_type)}
    errors = []
    if struct_type.__struct_config__.forbid_unknown_fields:
        errors += [
            Problem(name, f"is not a known field; known fields: {', '.join(fields)}")
            for name in data
            if name not in fields
        ]
    for name, field in fields.items():
        if name not in data:
            if field.required:
                errors.append(Problem(name, "is required"))
            continue
        annotation = hints[field.name]
        try:
            msgspec.convert(data[name], annotation)
        except msgspec.ValidationError as exc:
            text, path = split_path(str(exc))
            errors.append(Problem(name + path, human_message(text, name, annotation)))
    return errors
