"""The 4xx body `{"errors": [{"field", "message"}]}` and strict JSON decoding that fills it.

msgspec stops at the first problem and speaks in types ("Expected `int` >= 0"); a caller
wants every bad field named with the rule in words. `decode_struct` keeps msgspec's fast
path for good bodies and, only when a body fails, checks each field on its own.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from litestar import Response
from litestar.dto import MsgspecDTO
from msgspec import Struct

from coverage.errors import InputError, NotFound, Problem
from coverage.validation import field_errors, human_message, split_path

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
    text, path = split_path(str(error))
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
