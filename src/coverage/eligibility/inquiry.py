"""The 270 inquiry: staff input validated into a request, and the clearinghouse JSON it becomes.

Inquiries hold PHI: a request is stored with its verification record and never logged.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Annotated

import msgspec
from msgspec import Meta, Struct

from coverage.eligibility.codes import REQUESTED_STCS
from coverage.eligibility.config import EligibilityConfig
from coverage.errors import InputError

PayerId = Annotated[str, Meta(min_length=1, max_length=80, pattern=r"^\S+$")]
MemberId = Annotated[str, Meta(min_length=2, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*$")]
PersonName = Annotated[str, Meta(min_length=1, max_length=60, pattern=r"^[^\s].*$")]
Npi = Annotated[str, Meta(pattern=r"^\d{10}$")]
ServiceTypeCode = Annotated[str, Meta(pattern=r"^[0-9A-Z]{1,2}$")]


class EligibilityRequest(Struct, frozen=True, forbid_unknown_fields=True):
    """One 270 inquiry. It holds PHI: it is stored with the verification record and never logged."""

    payer_id: PayerId  # the clearinghouse's trading partner service id
    member_id: MemberId
    first_name: PersonName
    last_name: PersonName
    date_of_birth: dt.date
    date_of_service: dt.date
    provider_npi: Npi
    provider_name: PersonName
    service_type_codes: tuple[ServiceTypeCode, ...] = REQUESTED_STCS


def npi_check_digit_ok(npi: str) -> bool:
    """NPIs carry a Luhn check digit over the prefix 80840 (CMS NPI standard)."""
    digits = [int(char) for char in "80840" + npi]
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 1:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return total % 10 == 0


_FIELD_RULES: dict[str, str] = {
    "payer_id": "the clearinghouse payer id (trading partner service id), without spaces",
    "member_id": "2-80 letters, digits or hyphens, as printed on the insurance card",
    "first_name": "1-60 characters",
    "last_name": "1-60 characters",
    "date_of_birth": "a date YYYY-MM-DD",
    "date_of_service": "a date YYYY-MM-DD",
    "provider_npi": "the 10-digit NPI of the treating organization",
    "provider_name": "the treating organization's name (1-60 characters)",
    "service_type_codes": "a list of 1-2 character X12 service type codes",
}
_AT_FIELD = re.compile(r"`\$\.(\w+)")
_NAMED_FIELD = re.compile(r"field `(\w+)`")


def build_request(fields: Mapping[str, object], today: dt.date | None = None) -> EligibilityRequest:
    """Validate staff input into a request; raise InputError naming the first bad field.

    Messages state the rule, never the value given, so they are safe to show and log.
    """
    cleaned = {key: value.strip() if isinstance(value, str) else value for key, value in fields.items()}
    try:
        request = msgspec.convert(cleaned, EligibilityRequest, strict=False)
    except msgspec.ValidationError as exc:
        text = str(exc)
        match = _AT_FIELD.search(text) or _NAMED_FIELD.search(text)
        field = match[1] if match else "request"
        if "missing required field" in text:
            raise InputError.at(field, "is required") from None
        if "unknown field" in text:
            raise InputError.at(field, "is not a known field") from None
        raise InputError.at(field, f"must be {_FIELD_RULES.get(field, 'valid')}") from None
    today = today or dt.date.today()
    if request.date_of_birth > today:
        raise InputError.at("date_of_birth", "is in the future")
    if request.date_of_birth > request.date_of_service:
        raise InputError.at("date_of_birth", "is after the date of service")
    if not npi_check_digit_ok(request.provider_npi):
        raise InputError.at("provider_npi", "fails the NPI check digit (typo?)")
    return request


def _x12_date(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def request_body(request: EligibilityRequest, control_number: str) -> dict[str, object]:
    """The clearinghouse's JSON 270: provider, subscriber, encounter (dates as YYYYMMDD)."""
    return {
        "controlNumber": control_number,
        "tradingPartnerServiceId": request.payer_id,
        "provider": {"organizationName": request.provider_name, "npi": request.provider_npi},
        "subscriber": {
            "memberId": request.member_id,
            "firstName": request.first_name,
            "lastName": request.last_name,
            "dateOfBirth": _x12_date(request.date_of_birth),
        },
        "encounter": {
            "dateOfService": _x12_date(request.date_of_service),
            "serviceTypeCodes": list(request.service_type_codes),
        },
    }


def build_staff_request(
    given: Mapping[str, object], config: EligibilityConfig, today: dt.date | None = None
) -> EligibilityRequest:
    """build_request with what staff may leave out filled in, the same for CLI and web: the
    treating organization from COVERAGE_PROVIDER_*, the date of service from today."""
    today = today or dt.date.today()
    defaults = {
        "date_of_service": today,
        "provider_npi": config.provider_npi,
        "provider_name": config.provider_name,
    }
    fields = {**given, **{name: given.get(name) or default for name, default in defaults.items()}}
    return build_request({name: value for name, value in fields.items() if value is not None}, today)

