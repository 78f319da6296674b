"""The 4xx body `{"errors": [{"field", "message"}]}` and strict JSON decoding that fills it.

msgspec stops at the first problem and speaks in types ("Expected `int` >= 0"); a caller
wants every bad field named with the rule in words. `decode_struct` keeps msgspec's fast
path for good bodies and, only when a body fails, checks each field on its own.
"""

from __future__ import annotations

import re
import types
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import msgspec
from litestar import Response
from litestar.dto import MsgspecDTO
from msgspec import Struct

from coverage.errors import InputError, NotFound, Problem
from coverage.money import format_usd

S = TypeVar("S", bound=Struct)


class ErrorBody(Struct):
    errors: list[Problem]


class HttpError(InputError):
    """An InputError whose HTTP status the core cannot know (400 body shape, 413, 415, 503)."""

    def __init__(self, status_code: int, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.status_code = status_code


def status_of(error: InputError) -> int:
    """HttpError: its own status; NotFound: 404; any other input problem: 422 (a rule broken)."""
    if isinstance(error, HttpError):
        return error.status_code
    return 404 if isinstance(error, NotFound) else 422


def error_response(status_code: int, errors: list[Problem]) -> Response[ErrorBody]:
    return Response(ErrorBody(errors), status_code=status_code)


# --- msgspec messages in words -------------------------------------------------------------

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


def _split_path(message: str) -> tuple[str, str]:
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
            text, path = _split_path(str(exc))
            errors.append(Problem(name + path, human_message(text, name, annotation)))
    return errors


# What msgspec raises on a body that is not usable JSON at all: malformed text, invalid UTF-8,
# nesting deeper than its recursion limit.
_UNREADABLE = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)


def _unreadable(exc: Exception) -> Problem:
    if isinstance(exc, UnicodeDecodeError):
        return Problem(None, "the body must be UTF-8 text")
    if isinstance(exc, RecursionError):
        return Problem(None, "the body is nested too deeply to be a request")
    return Problem(None, f"the body is not valid JSON: {exc}")


def decode_struct(raw: bytes, struct_type: type[S]) -> S:
    """Strict JSON -> struct; on failure raise HttpError(400) naming every bad field.

    The untyped re-decode that names each field can fail where the typed one did not get that
    far (a number such as 1e999 or 5,000 digits fits no Python type msgspec builds untyped):
    then msgspec's own first error, with its path, is the answer.
    """
    try:
        return msgspec.json.decode(raw, type=struct_type)
    except msgspec.ValidationError as exc:
        first = exc
    except _UNREADABLE as exc:
        raise HttpError(400, [_unreadable(exc)]) from None
    try:
        data = msgspec.json.decode(raw)
    except (msgspec.ValidationError, *_UNREADABLE):
        raise HttpError(400, [_rule_across_fields(first, struct_type)]) from None
    errors = field_errors(data, struct_type) or [_rule_across_fields(first, struct_type)]
    raise HttpError(400, errors)


def _rule_across_fields(error: msgspec.ValidationError, struct_type: type[Struct]) -> Problem:
    """A rule no single field breaks; a `__post_init__` names its field as "field: rule"."""
    text, path = _split_path(str(error))
    field, _, rule = text.partition(": ")
    if not path and field in {known.encode_name for known in msgspec.structs.fields(struct_type)}:
        return Problem(field, rule)
    return Problem(path.lstrip(".") or None, human_message(text, None))


class StrictJSON(MsgspecDTO):  # type: ignore[type-arg]
    """Request-body DTO: `dto=StrictJSON[EstimateRequest]` decodes with `decode_struct`.

    Litestar's own decoding is lax ("5" becomes 5, SPEC 9 forbids silent coercion) and stops
    at the first error; the OpenAPI schema is the struct's own, as without a DTO.
    """

    def decode_bytes(self, value: bytes) -> Any:
        return decode_struct(value, self.model_type)

    @classmethod
    def create_openapi_schema(cls, field_definition: Any, handler_id: str, schema_creator: Any) -> Any:
        return schema_creator.for_field_definition(field_definition)
