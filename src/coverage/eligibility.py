"""Real-time benefit verification: a 270 inquiry out, a 271 (as "eligibility v3" JSON) back.

The clearinghouse answers with a flat `benefitsInformation` array; this module maps it onto
the plan categories the estimator prices (mental health / substance use x office, IOP, PHP x
in / out of network) without ever inventing a value: whatever the payer did not state stays
None, and every value that is set says which service type code and network it came from.

One mapping core serves two transports: `EligibilityClient.verify` (sync, for the CLI) and
`EligibilityClient.verify_async` (for the web service). Both run the same `RetryPolicy` and
hand the last answer to the same interpreter. Nothing here logs member data (PHI): log lines
carry the payer id, outcome, HTTP status, attempt count and trace number only.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

import httpx
import msgspec
from msgspec import Meta, Struct

from coverage.levels import LEVEL_ORDER, Level
from coverage.money import format_usd
from coverage.plans import Category, Network

logger = logging.getLogger(__name__)

# --- service type codes ------------------------------------------------------------------

STC_NAMES: dict[str, str] = {
    "30": "Health Benefit Plan Coverage",
    "MH": "Mental Health",
    "CF": "Mental Health Provider - Outpatient",
    "CH": "Mental Health Facility - Outpatient",
    "A4": "Psychiatric",
    "A6": "Psychotherapy",
    "A7": "Psychiatric - Inpatient",
    "A8": "Psychiatric - Outpatient",
    "BB": "Partial Hospitalization (Psychiatric)",
    "AI": "Substance Abuse",
    "AJ": "Alcoholism",
    "AK": "Drug Addiction",
    "CI": "Substance Abuse Facility - Inpatient",
    "CJ": "Substance Abuse Facility - Outpatient",
}
MENTAL_HEALTH_STCS = ("MH", "CF", "CH", "A4", "A6", "A7", "A8", "BB")  # BB: partial hospitalization
SUBSTANCE_USE_STCS = ("AI", "AJ", "AK", "CI", "CJ")
REQUESTED_STCS = MENTAL_HEALTH_STCS + SUBSTANCE_USE_STCS
PLAN_WIDE_STC = "30"
LEVEL_SPECIFIC_STCS = frozenset({"CF", "A6", "CH", "BB", "CJ"})

# Where each priced level looks for its values, most specific tier first. The first tier
# holding a usable entry wins; a lower tier is never consulted once a higher one answered.
# Inpatient codes (A7, CI) are requested for the record but never priced as outpatient care.
_MH_ALL_LEVELS: tuple[tuple[str, ...], ...] = (("A8",), ("MH", "A4"), (PLAN_WIDE_STC,))
_SUD_ALL_LEVELS: tuple[tuple[str, ...], ...] = (("AI", "AJ", "AK"), (PLAN_WIDE_STC,))
STC_TIERS: dict[tuple[Category, Level], tuple[tuple[str, ...], ...]] = {
    ("mh", "op"): (("CF", "A6"), *_MH_ALL_LEVELS),
    ("mh", "iop"): (("CH",), *_MH_ALL_LEVELS),
    ("mh", "php"): (("BB",), ("CH",), *_MH_ALL_LEVELS),
    ("sud", "op"): _SUD_ALL_LEVELS,
    ("sud", "iop"): (("CJ",), *_SUD_ALL_LEVELS),
    ("sud", "php"): (("CJ",), *_SUD_ALL_LEVELS),
}

FIELD_LABELS: dict[str, str] = {
    "active": "coverage status",
    "copay_cents": "copay",
    "coinsurance": "coinsurance",
    "deductible_individual": "individual deductible",
    "deductible_family": "family deductible",
    "oop_individual": "individual out-of-pocket maximum",
    "oop_family": "family out-of-pocket maximum",
    "visit_limit": "visit limit",
    "visits_remaining": "visits remaining",
    "prior_auth": "prior authorization",
}
COST_FIELDS = frozenset(
    {
        "copay_cents",
        "coinsurance",
        "deductible_individual",
        "deductible_family",
        "oop_individual",
        "oop_family",
    }
)
CATEGORY_LABELS: dict[Category, str] = {"mh": "Mental health", "sud": "Substance use"}
LEVEL_LABELS: dict[Level, str] = {"op": "office", "iop": "IOP", "php": "PHP"}
NETWORK_LABELS: dict[Network, str] = {"in": "in network", "out": "out of network"}
CATEGORIES: tuple[Category, ...] = ("mh", "sud")
NETWORKS: tuple[Network, ...] = ("in", "out")

_TOTAL_PERIODS = {"21": "years", "22": "service year", "23": "calendar year"}
_REMAINING = "29"
_YEAR_TO_DATE = "24"
_TIME_QUALIFIERS = {
    **_TOTAL_PERIODS,
    "6": "hour",
    "7": "day",
    "13": "24 hours",
    "24": "year to date",
    "25": "contract",
    "26": "episode",
    "27": "visit",
    "28": "outlier",
    "29": "remaining",
    "30": "exceeded",
    "31": "not exceeded",
    "32": "lifetime",
    "33": "lifetime remaining",
    "34": "month",
    "35": "week",
    "36": "admission",
}
_ACTIVE_CODES = {"1": True, "2": True, "3": True, "4": True, "5": True, "6": False, "7": False, "8": False}
_NOT_COVERED = "I"
_UNIT_QUANTITIES = {"VS": "visits", "DY": "days"}

# Staff-facing wording for the AAA reject reasons an admissions desk actually meets.
AAA_MESSAGES: dict[str, str] = {
    "15": "required information is missing from the request",
    "41": "the provider is not authorized to check this payer's eligibility",
    "42": "the payer's system cannot respond right now; try again later or verify by phone",
    "43": "the provider NPI is invalid or missing",
    "51": "the provider is not on file with the payer",
    "52": "the date of service is outside the provider's enrollment with the payer",
    "56": "the date is not acceptable to the payer",
    "57": "the date of service is invalid or missing",
    "58": "the date of birth is invalid or missing",
    "62": "the date of service is outside the period the payer allows inquiries for",
    "63": "the date of service is in the future",
    "71": "the date of birth does not match the payer's records",
    "72": "the member ID is invalid or missing; check the insurance card",
    "73": "the subscriber's name is invalid or missing",
    "75": "the payer cannot find this subscriber; check the name, date of birth and member ID",
    "76": "the member ID matches more than one subscriber",
    "78": "the subscriber is not in the group or plan identified",
    "79": "the payer id is not valid for this inquiry",
    "80": "the payer did not answer and the clearinghouse ended the transaction",
    "T4": "the payer name or id is missing",
}

Outcome = Literal["verified", "inactive", "rejected", "unavailable", "invalid_response", "not_configured"]
INACTIVE_CODES = {
    "6": "Inactive",
    "7": "Inactive - Pending Eligibility Update",
    "8": "Inactive - Pending Investigation",
}

# --- request ------------------------------------------------------------------------------

PayerId = Annotated[str, Meta(min_length=1, max_length=80, pattern=r"^\S+$")]
MemberId = Annotated[str, Meta(min_length=2, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*$")]
PersonName = Annotated[str, Meta(min_length=1, max_length=60, pattern=r"^[^\s].*$")]
Npi = Annotated[str, Meta(pattern=r"^\d{10}$")]
ServiceTypeCode = Annotated[str, Meta(pattern=r"^[0-9A-Z]{1,2}$")]


class EligibilityRequest(Struct, frozen=True, forbid_unknown_fields=True):
    """One 270 inquiry. It holds PHI: it is stored with the VOB record and never logged."""

    payer_id: PayerId  # the clearinghouse's trading partner service id
    member_id: MemberId
    first_name: PersonName
    last_name: PersonName
    date_of_birth: dt.date
    date_of_service: dt.date
    provider_npi: Npi
    provider_name: PersonName
    service_type_codes: tuple[ServiceTypeCode, ...] = REQUESTED_STCS


class RequestError(ValueError):
    """A request value that cannot be sent; `field` names the EligibilityRequest field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


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
    """Validate staff input into a request; raise RequestError naming the first bad field.

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
            raise RequestError(field, "is required") from None
        if "unknown field" in text:
            raise RequestError(field, "is not a known field") from None
        raise RequestError(field, f"must be {_FIELD_RULES.get(field, 'valid')}") from None
    today = today or dt.date.today()
    if request.date_of_birth > today:
        raise RequestError("date_of_birth", "is in the future")
    if request.date_of_birth > request.date_of_service:
        raise RequestError("date_of_birth", "is after the date of service")
    if not npi_check_digit_ok(request.provider_npi):
        raise RequestError("provider_npi", "fails the NPI check digit (typo?)")
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


# --- configuration and retries -----------------------------------------------------------


class EligibilityConfig(Struct, frozen=True):
    """Where the clearinghouse is and who is asking; `url` None means verification is off."""

    url: str | None = None
    api_key: str | None = None
    timeout_s: float = 15.0
    provider_npi: str | None = None
    provider_name: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EligibilityConfig:
        env = os.environ if environ is None else environ
        raw_timeout = env.get("COVERAGE_ELIGIBILITY_TIMEOUT", "").strip() or "15"
        try:
            timeout_s = float(raw_timeout)
        except ValueError:
            timeout_s = -1.0
        if not 0 < timeout_s <= 300:
            raise ValueError(
                f"COVERAGE_ELIGIBILITY_TIMEOUT must be seconds between 0 and 300, got {raw_timeout!r}"
            )
        return cls(
            url=env.get("COVERAGE_ELIGIBILITY_URL", "").strip() or None,
            api_key=env.get("COVERAGE_ELIGIBILITY_API_KEY", "").strip() or None,
            timeout_s=timeout_s,
            provider_npi=env.get("COVERAGE_PROVIDER_NPI", "").strip() or None,
            provider_name=env.get("COVERAGE_PROVIDER_NAME", "").strip() or None,
        )

    def problem(self) -> str | None:
        """Why verification cannot run with this configuration, or None when it can."""
        if self.url is None:
            return (
                "benefit verification is not configured: set COVERAGE_ELIGIBILITY_URL "
                "(and COVERAGE_ELIGIBILITY_API_KEY) to the clearinghouse's eligibility endpoint"
            )
        if not self.url.startswith(("https://", "http://")):
            return f"COVERAGE_ELIGIBILITY_URL must be an http(s) URL, got {self.url!r}"
        return None


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


MAX_REPLY_BYTES = 1024 * 1024  # a 271 for one member is a few KB; more is not a usable answer


class ReplyTooLarge(Exception):
    """The clearinghouse's answer passed MAX_REPLY_BYTES; reading stopped there."""

    def __init__(self, status_code: int) -> None:
        super().__init__(f"the response is larger than {MAX_REPLY_BYTES // 1024} KB")
        self.status_code = status_code


Attempt = httpx.Response | httpx.TransportError | ReplyTooLarge


class RetryPolicy(Struct, frozen=True):
    """Bounded exponential backoff for transient failures, shared by both transports.

    Retried: connection errors, timeouts, 429 and 5xx. Never retried: other 4xx (asking
    again with the same data gets the same answer) and any answer that parsed.
    """

    max_attempts: int = 3
    first_delay_s: float = 0.5
    max_delay_s: float = 8.0
    verification_deadline_s: float = 60.0  # all attempts and waits of one verification together

    @staticmethod
    def is_transient(attempt: Attempt) -> bool:
        if isinstance(attempt, ReplyTooLarge):
            return False
        if isinstance(attempt, httpx.TransportError):
            return True
        return attempt.status_code == 429 or attempt.status_code >= 500

    def delay_before_retry(self, attempts_made: int, attempt: Attempt) -> float | None:
        """Seconds to wait before the next attempt, or None when `attempt` is final."""
        if attempts_made >= self.max_attempts or not self.is_transient(attempt):
            return None
        delay = self.first_delay_s * 2 ** (attempts_made - 1)
        if isinstance(attempt, httpx.Response):
            retry_after = attempt.headers.get("retry-after", "")
            if retry_after.isdigit():
                delay = max(delay, float(retry_after))
        return min(delay, self.max_delay_s)


# --- the 271 as JSON: only the parts this module reads --------------------------------------


class _ServiceDelivery(Struct, rename="camel"):
    quantity: Decimal | None = None
    quantity_qualifier_code: str | None = None
    time_period_qualifier_code: str | None = None
    num_of_periods: Decimal | None = None


class _BenefitEntry(Struct, rename="camel"):
    code: str
    service_type_codes: list[str] = []
    coverage_level_code: str | None = None
    time_qualifier_code: str | None = None
    benefit_amount: Decimal | None = None
    benefit_percent: Decimal | None = None
    benefit_quantity: Decimal | None = None
    quantity_qualifier_code: str | None = None
    in_plan_network_indicator_code: str | None = None
    auth_or_cert_indicator: str | None = None
    benefits_service_delivery: list[_ServiceDelivery] = []
    plan_coverage: str | None = None


class _PayerError(Struct, rename="camel"):
    code: str | None = None
    description: str | None = None
    followup_action: str | None = None
    field: str | None = None
    location: str | None = None


class _PlanDates(Struct, rename="camel"):
    plan: str | None = None
    plan_begin: str | None = None
    plan_end: str | None = None
    eligibility_begin: str | None = None
    eligibility_end: str | None = None


class _TraceNumber(Struct, rename="camel"):
    reference_identification: str | None = None
    trace_type_code: str | None = None


class _Meta(Struct, rename="camel"):
    trace_id: str | None = None


class _Payer(Struct, rename="camel"):
    name: str | None = None


class _Response(Struct, rename="camel"):
    benefits_information: list[_BenefitEntry] | None = None
    errors: list[_PayerError] = []
    plan_date_information: _PlanDates | None = None
    subscriber_trace_numbers: list[_TraceNumber] = []
    meta: _Meta | None = None
    payer: _Payer | None = None


# --- mapped result ------------------------------------------------------------------------


class Accumulator(Struct, frozen=True):
    """A deductible or out-of-pocket limit as the payer stated it, in cents."""

    total_cents: int | None = None
    remaining_cents: int | None = None
    year_to_date_cents: int | None = None
    met_cents: int | None = None  # total - remaining, else the payer's year-to-date figure
    period: str | None = None  # "calendar year" or "service year" (of the total)


class LevelBenefits(Struct, frozen=True):
    """What the payer said for one category, level of care and network; None = not stated."""

    category: Category
    level: Level
    network: Network
    active: bool | None = None
    copay_cents: int | None = None
    coinsurance: Decimal | None = None  # the member's share as a fraction: 0.2 is 20%
    deductible_individual: Accumulator | None = None
    deductible_family: Accumulator | None = None
    oop_individual: Accumulator | None = None
    oop_family: Accumulator | None = None
    visit_limit: int | None = None  # units per plan year
    visits_remaining: int | None = None
    prior_auth: bool | None = None
    sources: dict[str, str] = {}  # field name -> service type code(s) and network it came from


class VerifiedBenefits(Struct, frozen=True):
    """The mapped 271: one LevelBenefits per category x level x network, plus plan facts."""

    payer_name: str | None
    plan_coverage: str | None
    active: bool | None
    coverage_start: dt.date | None
    coverage_end: dt.date | None
    levels: list[LevelBenefits]
    notes: list[str]

    def level(self, category: Category, level: Level, network: Network) -> LevelBenefits:
        for benefits in self.levels:
            if (benefits.category, benefits.level, benefits.network) == (category, level, network):
                return benefits
        raise KeyError((category, level, network))


class PayerRejection(Struct, frozen=True):
    """One AAA reject reason (or clearinghouse error) from the response's `errors`."""

    code: str | None
    description: str | None
    followup_action: str | None = None
    location: str | None = None


class VerificationResult(Struct, frozen=True):
    """Everything one verification produced; the VOB store keeps all of it."""

    outcome: Outcome
    message: str
    control_number: str | None = None
    trace_number: str | None = None
    http_status: int | None = None
    attempts: int = 0
    raw_response: str | None = None
    benefits: VerifiedBenefits | None = None
    rejections: list[PayerRejection] = []


# --- mapping ------------------------------------------------------------------------------


def _cents(amount: Decimal) -> int | None:
    """Exact dollars -> cents; None for negative, non-finite, sub-cent or absurdly long amounts."""
    if not amount.is_finite() or amount < 0:
        return None
    try:
        whole_cents = amount.quantize(Decimal("0.01"))
    except InvalidOperation:  # more digits than Decimal's precision holds: no real dollar amount
        return None
    return int(amount * 100) if amount == whole_cents else None


def _whole(quantity: Decimal) -> int | None:
    if not quantity.is_finite() or quantity < 0 or quantity != quantity.to_integral_value():
        return None
    return int(quantity)


def _network_match(entry: _BenefitEntry, network: Network) -> bool | None:
    """True: the entry states this network (Y/N) or both (W); False: it states the other
    network; None: it states none (absent or U), so it may apply to either."""
    indicator = entry.in_plan_network_indicator_code
    if indicator == "W":
        return True
    if indicator in ("Y", "N"):
        return indicator == ("Y" if network == "in" else "N")
    return None


class _Tier(Struct):
    entries: list[_BenefitEntry]
    codes: tuple[str, ...]  # the service type codes that matched
    network_stated: bool

    def describe(self, network: Network) -> str:
        codes = "/".join(self.codes)
        names = "; ".join(STC_NAMES.get(code, code) for code in self.codes)
        if not self.network_stated:
            where = "network not stated by payer"
        elif all(entry.in_plan_network_indicator_code == "W" for entry in self.entries):
            where = "same in and out of network"
        else:
            where = NETWORK_LABELS[network]
        return f"STC {codes} ({names}), {where}"


class _Mapper:
    """Resolves each field of each LevelBenefits from the most specific usable entries."""

    def __init__(self, entries: list[_BenefitEntry]) -> None:
        self.entries = entries
        self.notes: list[str] = []
        self.fallbacks: dict[tuple[Category, Network], set[str]] = {}
        self.level_specific: set[Category] = set()

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def tier(
        self, category: Category, level: Level, network: Network, wanted: Callable[[_BenefitEntry], bool]
    ) -> _Tier | None:
        """The most specific tier (then stated network before unstated) with a wanted entry."""
        for tier_codes in STC_TIERS[(category, level)]:
            for stated in (True, None):
                found = [
                    entry
                    for entry in self.entries
                    if _network_match(entry, network) is stated
                    and any(code in tier_codes for code in entry.service_type_codes)
                    and wanted(entry)
                ]
                if found:
                    codes = tuple(
                        code for code in tier_codes if any(code in e.service_type_codes for e in found)
                    )
                    return _Tier(found, codes, stated is True)
        return None

    def single(
        self, values: Iterable[object], what: str, where: str, show: Callable[[Any], str] | None = None
    ) -> object | None:
        """The one value the entries agree on; conflicting values are reported, not guessed."""
        distinct = sorted({value for value in values if value is not None}, key=str)
        if len(distinct) > 1:
            shown = ", ".join((show or _show)(value) for value in distinct)
            self.note(f"{where}: the payer gave conflicting {what} ({shown}); not used")
            return None
        return distinct[0] if distinct else None

    def usable_amount(self, entry: _BenefitEntry, where: str) -> int | None:
        if entry.benefit_amount is None:
            return None
        cents = _cents(entry.benefit_amount)
        if cents is None:
            self.note(f"{where}: benefitAmount {entry.benefit_amount} is not a dollar amount; not used")
        return cents

    def usable_percent(self, entry: _BenefitEntry, where: str) -> Decimal | None:
        percent = entry.benefit_percent
        if percent is None:
            return None
        if not percent.is_finite() or not Decimal(0) <= percent <= Decimal(1):
            self.note(f"{where}: benefitPercent {percent} is outside X12's 0-1 range; not used")
            return None
        return percent.normalize()

    def record(
        self, sources: dict[str, str], field: str, tier: _Tier, category: Category, network: Network
    ) -> None:
        sources[field] = tier.describe(network)
        if PLAN_WIDE_STC in tier.codes:
            self.fallbacks.setdefault((category, network), set()).add(field)
        if LEVEL_SPECIFIC_STCS.intersection(tier.codes):
            self.level_specific.add(category)

    def map_level(self, category: Category, level: Level, network: Network) -> LevelBenefits:
        where = f"{CATEGORY_LABELS[category]} {LEVEL_LABELS[level]}, {NETWORK_LABELS[network]}"
        sources: dict[str, str] = {}
        values: dict[str, object] = {}

        def resolve(
            wanted: Callable[[_BenefitEntry], bool],
            fields: dict[str, tuple[str, Callable[[_BenefitEntry], object], Callable[[Any], str] | None]],
        ) -> None:
            """Fields resolved together read one tier, so a broader code never fills a gap
            that the more specific code left (payers omit a copay they do not charge)."""
            tier = self.tier(category, level, network, wanted)
            if tier is None:
                return
            for field, (what, value_of, show) in fields.items():
                value = self.single((value_of(entry) for entry in tier.entries), what, where, show)
                if value is not None:
                    values[field] = value
                    self.record(sources, field, tier, category, network)

        def is_copay(entry: _BenefitEntry) -> bool:
            return (
                entry.code == "B"
                and entry.benefit_amount is not None
                and entry.time_qualifier_code not in (_REMAINING, "33")
            )

        def is_coinsurance(entry: _BenefitEntry) -> bool:
            return entry.code == "A" and entry.benefit_percent is not None

        resolve(
            lambda e: e.code in _ACTIVE_CODES or e.code == _NOT_COVERED,
            {"active": ("coverage status", lambda e: _ACTIVE_CODES.get(e.code, False), None)},
        )
        resolve(
            lambda e: is_copay(e) or is_coinsurance(e),
            {
                "copay_cents": (
                    "copays",
                    lambda e: self.usable_amount(e, where) if is_copay(e) else None,
                    format_usd,
                ),
                "coinsurance": (
                    "coinsurance",
                    lambda e: self.usable_percent(e, where) if is_coinsurance(e) else None,
                    None,
                ),
            },
        )
        # The indicator is read in the most specific tier that says anything about the level, as
        # amounts are: a Y on A8 (psychiatric outpatient) does not reach office therapy when the
        # CF/A6 entries state no indicator.
        resolve(
            lambda e: True,
            {
                "prior_auth": (
                    "prior authorization indicators",
                    lambda e: {"Y": True, "N": False}.get(e.auth_or_cert_indicator or ""),
                    None,
                )
            },
        )
        for field, code, family in (
            ("deductible_individual", "C", False),
            ("deductible_family", "C", True),
            ("oop_individual", "G", False),
            ("oop_family", "G", True),
        ):
            self.map_accumulator(field, code, family, category, level, network, where, sources, values)
        self.map_visit_limit(category, level, network, where, sources, values)
        return LevelBenefits(category, level, network, sources=sources, **values)  # type: ignore[arg-type]

    def map_accumulator(
        self,
        field: str,
        code: str,
        family: bool,
        category: Category,
        level: Level,
        network: Network,
        where: str,
        sources: dict[str, str],
        values: dict[str, object],
    ) -> None:
        """Total, remaining and year-to-date come from one tier, so `met` is coherent."""
        levels = ("FAM",) if family else ("IND", "EMP", None)
        tier = self.tier(
            category,
            level,
            network,
            lambda e: e.code == code and e.coverage_level_code in levels and e.benefit_amount is not None,
        )
        if tier is None:
            return
        what = f"{'family' if family else 'individual'} {'deductible' if code == 'C' else 'out-of-pocket'}"

        def amount_for(qualifiers: Iterable[str]) -> int | None:
            amounts = (
                self.usable_amount(e, where) for e in tier.entries if e.time_qualifier_code in qualifiers
            )
            return self.single(amounts, f"{what} amounts", where, format_usd)  # type: ignore[return-value]

        total = amount_for(_TOTAL_PERIODS)
        remaining = amount_for((_REMAINING,))
        year_to_date = amount_for((_YEAR_TO_DATE,))
        unqualified = [e for e in tier.entries if e.time_qualifier_code is None]
        if unqualified:
            self.note(f"{where}: {what} of ${unqualified[0].benefit_amount} has no time qualifier; not used")
        periods = {e.time_qualifier_code for e in tier.entries if e.time_qualifier_code in _TOTAL_PERIODS}
        period = _TOTAL_PERIODS[periods.pop()] if len(periods) == 1 and total is not None else None
        met = year_to_date
        if total is not None and remaining is not None:
            if remaining > total:
                self.note(f"{where}: {what} remaining exceeds its total; met amount not derived")
                met = None
            else:
                met = total - remaining
        if total is None and remaining is None and year_to_date is None:
            return
        values[field] = Accumulator(total, remaining, year_to_date, met, period)
        self.record(sources, field, tier, category, network)
        if any(e.coverage_level_code is None for e in tier.entries):
            sources[field] += "; coverage level not stated, read as individual"

    def map_visit_limit(
        self,
        category: Category,
        level: Level,
        network: Network,
        where: str,
        sources: dict[str, str],
        values: dict[str, object],
    ) -> None:
        """Limitations (F) counted in visits or days, per plan year, and what remains."""
        tier = self.tier(category, level, network, lambda e: e.code == "F")
        if tier is None:
            return
        totals: list[int | None] = []
        remaining: list[int | None] = []
        for entry in tier.entries:
            counts = [
                (entry.benefit_quantity, entry.quantity_qualifier_code, entry.time_qualifier_code, None)
            ]
            counts += [
                (
                    delivery.quantity,
                    delivery.quantity_qualifier_code,
                    delivery.time_period_qualifier_code or entry.time_qualifier_code,
                    delivery.num_of_periods,
                )
                for delivery in entry.benefits_service_delivery
            ]
            counted = False
            for quantity, unit, period, periods in counts:
                if quantity is None or unit not in _UNIT_QUANTITIES:
                    continue
                counted = True
                shown = f"{quantity} {_UNIT_QUANTITIES[unit]}"
                per = _TIME_QUALIFIERS.get(period or "", "an unstated period")
                if _whole(quantity) is None:
                    self.note(f"{where}: limitation quantity {quantity} is not a whole count; not used")
                elif periods not in (None, 1):
                    self.note(f"{where}: limit of {shown} per {periods} {per} periods not applied")
                elif period == _REMAINING:
                    remaining.append(_whole(quantity))
                elif period in _TOTAL_PERIODS:
                    totals.append(_whole(quantity))
                else:
                    self.note(f"{where}: limit of {shown} per {per} not applied (limits are per plan year)")
            if not counted and entry.benefit_amount is not None:
                self.note(f"{where}: a dollar limitation of ${entry.benefit_amount} is not modeled")
        limit = self.single(totals, "visit limits", where)
        left = self.single(remaining, "remaining visits", where)
        if limit is not None:
            values["visit_limit"] = limit
            self.record(sources, "visit_limit", tier, category, network)
        if left is not None:
            values["visits_remaining"] = left
            self.record(sources, "visits_remaining", tier, category, network)

    def summary_notes(self, levels: list[LevelBenefits]) -> None:
        for category in CATEGORIES:
            if category not in self.level_specific:
                self.note(
                    f"{CATEGORY_LABELS[category]}: the payer did not distinguish office, IOP and PHP; "
                    "the same values apply to all three levels"
                )
            for network in NETWORKS:
                where = f"{CATEGORY_LABELS[category]}, {NETWORK_LABELS[network]}"
                stated = {
                    field
                    for benefits in levels
                    if (benefits.category, benefits.network) == (category, network)
                    for field in benefits.sources
                }
                if not stated.intersection(COST_FIELDS):
                    self.note(f"{where}: the payer returned no cost-sharing values")
                fields = self.fallbacks.get((category, network))
                if fields:
                    shown = ", ".join(
                        FIELD_LABELS[field] for field in sorted(fields, key=list(FIELD_LABELS).index)
                    )
                    self.note(
                        f"{where}: {shown} taken from STC 30 (health benefit plan coverage) "
                        "because the payer returned nothing more specific"
                    )


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return f"{(value * 100).normalize():f}%"
    return str(value)


def _parse_x12_dates(text: str | None) -> tuple[dt.date | None, dt.date | None]:
    """Parse "20260101" or "20260101-20261231" into (start, end); anything else -> (None, None)."""
    if not text:
        return None, None
    parts = text.split("-")
    try:
        days = [dt.datetime.strptime(part, "%Y%m%d").date() for part in parts]
    except ValueError:
        return None, None
    if len(days) == 1:
        return days[0], None
    return (days[0], days[1]) if len(days) == 2 else (None, None)


def _coverage_dates(dates: _PlanDates | None) -> tuple[dt.date | None, dt.date | None]:
    if dates is None:
        return None, None
    start, end = _parse_x12_dates(dates.plan)
    start = start or _parse_x12_dates(dates.plan_begin)[0] or _parse_x12_dates(dates.eligibility_begin)[0]
    end = end or _parse_x12_dates(dates.plan_end)[0] or _parse_x12_dates(dates.eligibility_end)[0]
    return start, end


def map_benefits(response: _Response) -> VerifiedBenefits:
    """Map a decoded 271 onto every category x level x network; absent stays None."""
    entries = response.benefits_information or []
    mapper = _Mapper(entries)
    levels = [
        mapper.map_level(category, level, network)
        for category in CATEGORIES
        for level in LEVEL_ORDER
        for network in NETWORKS
    ]
    mapper.summary_notes(levels)
    coverage = [e for e in entries if e.code in _ACTIVE_CODES]
    active = None
    if any(_ACTIVE_CODES[e.code] for e in coverage):
        active = True
    elif coverage:  # only inactive codes (6-8): no active entry anywhere
        active = False
    plan_coverage = next((e.plan_coverage for e in coverage if e.plan_coverage), None)
    start, end = _coverage_dates(response.plan_date_information)
    return VerifiedBenefits(
        payer_name=response.payer.name if response.payer else None,
        plan_coverage=plan_coverage,
        active=active,
        coverage_start=start,
        coverage_end=end,
        levels=levels,
        notes=mapper.notes,
    )


def _trace_number(response: _Response) -> str | None:
    """The payer's own trace (TRN type 1), else the clearinghouse trace id."""
    for trace in response.subscriber_trace_numbers:
        if trace.trace_type_code == "1" and trace.reference_identification:
            return trace.reference_identification
    return response.meta.trace_id if response.meta and response.meta.trace_id else None


def _rejection_message(rejections: list[PayerRejection]) -> str:
    reasons = []
    for rejection in rejections:
        wording = AAA_MESSAGES.get(rejection.code or "") or rejection.description or "no reason given"
        reasons.append(f"{wording} (AAA {rejection.code})" if rejection.code else wording)
    return "payer rejected the inquiry: " + "; ".join(reasons)


def _rejections(errors: list[_PayerError]) -> list[PayerRejection]:
    return [
        PayerRejection(
            code=error.code,
            description=error.description,
            followup_action=error.followup_action,
            location=error.location or error.field,
        )
        for error in errors
    ]


def interpret(attempt: Attempt, attempts: int, control_number: str, timeout_s: float) -> VerificationResult:
    """Turn the last HTTP answer (or transport failure) into an outcome; never raises."""
    common = {"control_number": control_number, "attempts": attempts}
    if isinstance(attempt, httpx.TransportError):
        kind = "timed out" if isinstance(attempt, httpx.TimeoutException) else "could not be reached"
        return VerificationResult(
            "unavailable",
            f"the clearinghouse {kind} ({type(attempt).__name__}, {timeout_s:g} s timeout) "
            f"after {attempts} attempt(s); try again later",
            **common,
        )
    if isinstance(attempt, ReplyTooLarge):
        return VerificationResult(
            "invalid_response",
            f"{attempt}; nothing of it was kept",
            http_status=attempt.status_code,
            **common,
        )
    status, text = attempt.status_code, attempt.text
    common |= {"http_status": status, "raw_response": text}
    if RetryPolicy.is_transient(attempt):
        return VerificationResult(
            "unavailable",
            f"the clearinghouse answered HTTP {status} after {attempts} attempt(s); try again later",
            **common,
        )
    try:
        response = msgspec.json.decode(attempt.content, type=_Response)
    except (msgspec.DecodeError, RecursionError) as exc:  # RecursionError: nested beyond reason
        if 400 <= status < 500:
            return VerificationResult(
                "rejected", f"the clearinghouse refused the request (HTTP {status})", **common
            )
        return VerificationResult("invalid_response", f"the response is not a usable 271: {exc}", **common)
    common["trace_number"] = _trace_number(response)
    rejections = _rejections(response.errors)
    if 400 <= status < 500:
        detail = f": {_rejection_message(rejections)}" if rejections else ""
        return VerificationResult(
            "rejected",
            f"the clearinghouse refused the request (HTTP {status}){detail}",
            rejections=rejections,
            **common,
        )
    if not 200 <= status < 300:
        return VerificationResult("invalid_response", f"unexpected HTTP status {status}", **common)
    if rejections:
        return VerificationResult("rejected", _rejection_message(rejections), rejections=rejections, **common)
    if response.benefits_information is None:
        return VerificationResult(
            "invalid_response", "the response has neither benefitsInformation nor errors", **common
        )
    benefits = map_benefits(response)
    if benefits.active is False:
        return VerificationResult("inactive", _inactive_message(response), benefits=benefits, **common)
    return VerificationResult("verified", "benefits verified", benefits=benefits, **common)


def _inactive_message(response: _Response) -> str:
    """Staff wording for a 271 whose only eligibility entries are inactive (EB01 6, 7 or 8)."""
    codes = sorted({e.code for e in response.benefits_information or [] if e.code in INACTIVE_CODES})
    stated = "; ".join(f"{INACTIVE_CODES[code]} (EB {code})" for code in codes)
    return (
        f"coverage is NOT active: the payer reports {stated} and no active coverage. Do not quote "
        "benefits: confirm the client's current insurance, or estimate at the self-pay rate"
    )


# --- transports ---------------------------------------------------------------------------


def new_control_number() -> str:
    """A 9-digit inquiry control number (X12 TRN/ISA style)."""
    return f"{secrets.randbelow(10**9):09d}"


class _Prepared(Struct):
    url: str
    headers: dict[str, str]
    body: dict[str, object]
    control_number: str


class EligibilityClient:
    """Sends one inquiry with bounded retries; `sleep`/`async_sleep` are injectable for tests."""

    def __init__(
        self,
        config: EligibilityConfig,
        policy: RetryPolicy | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        control_numbers: Callable[[], str] = new_control_number,
    ) -> None:
        self.config = config
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._async_sleep = async_sleep
        self._control_numbers = control_numbers

    def _prepare(self, request: EligibilityRequest) -> _Prepared | VerificationResult:
        problem = self.config.problem()
        if problem is not None:
            return VerificationResult("not_configured", problem)
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.config.api_key:
            headers["Authorization"] = self.config.api_key
        control_number = self._control_numbers()
        assert self.config.url is not None  # problem() said so
        return _Prepared(self.config.url, headers, request_body(request, control_number), control_number)

    def _next_delay(self, attempts: int, attempt: Attempt) -> float | None:
        delay = self.policy.delay_before_retry(attempts, attempt)
        if delay is not None:
            failure = type(attempt).__name__ if isinstance(attempt, Exception) else attempt.status_code
            logger.warning("eligibility attempt %d failed (%s); retrying in %.1f s", attempts, failure, delay)
        return delay

    def _finish(
        self, request: EligibilityRequest, prepared: _Prepared, attempt: Attempt, attempts: int
    ) -> VerificationResult:
        result = interpret(attempt, attempts, prepared.control_number, self.config.timeout_s)
        logger.info(
            "eligibility check payer=%s outcome=%s http=%s attempts=%d trace=%s",
            request.payer_id,
            result.outcome,
            result.http_status,
            attempts,
            result.trace_number,
        )
        return result

    def _attempt_deadline(self, verification_deadline: float) -> float:
        return min(time.monotonic() + self.config.timeout_s, verification_deadline)

    def _retry_in_time(self, delay: float, verification_deadline: float) -> bool:
        return time.monotonic() + delay < verification_deadline

    def verify(self, request: EligibilityRequest) -> VerificationResult:
        prepared = self._prepare(request)
        if isinstance(prepared, VerificationResult):
            return prepared
        verification_deadline = time.monotonic() + self.policy.verification_deadline_s
        with httpx.Client(timeout=self.config.timeout_s, headers=prepared.headers) as client:
            attempts = 0
            while True:
                attempts += 1
                deadline = self._attempt_deadline(verification_deadline)
                try:
                    with client.stream("POST", prepared.url, json=prepared.body) as answer:
                        attempt: Attempt = _bounded(answer, answer.iter_bytes(), deadline)
                except (httpx.TransportError, ReplyTooLarge) as exc:
                    attempt = exc
                delay = self._next_delay(attempts, attempt)
                if delay is None or not self._retry_in_time(delay, verification_deadline):
                    return self._finish(request, prepared, attempt, attempts)
                self._sleep(delay)

    async def verify_async(self, request: EligibilityRequest) -> VerificationResult:
        prepared = self._prepare(request)
        if isinstance(prepared, VerificationResult):
            return prepared
        verification_deadline = time.monotonic() + self.policy.verification_deadline_s
        async with httpx.AsyncClient(timeout=self.config.timeout_s, headers=prepared.headers) as client:
            attempts = 0
            while True:
                attempts += 1
                deadline = self._attempt_deadline(verification_deadline)
                try:
                    async with asyncio.timeout_at(_loop_time(deadline)):
                        async with client.stream("POST", prepared.url, json=prepared.body) as answer:
                            blocks = [block async for block in _capped_async(answer.aiter_bytes())]
                            attempt: Attempt = _bounded(answer, iter(blocks), deadline)
                except TimeoutError:
                    attempt = httpx.ReadTimeout(_TOO_SLOW)
                except (httpx.TransportError, ReplyTooLarge) as exc:
                    attempt = exc
                delay = self._next_delay(attempts, attempt)
                if delay is None or not self._retry_in_time(delay, verification_deadline):
                    return self._finish(request, prepared, attempt, attempts)
                await self._async_sleep(delay)


_TOO_SLOW = "the whole answer did not arrive before the attempt's deadline"


def _loop_time(deadline: float) -> float:
    """A time.monotonic() deadline on the running event loop's clock."""
    loop = asyncio.get_running_loop()
    return loop.time() + (deadline - time.monotonic())


async def _capped_async(blocks: Any) -> Any:
    """The async body's blocks, stopping once they pass MAX_REPLY_BYTES (marked by one extra byte)."""
    size = 0
    async for block in blocks:
        size += len(block)
        yield block
        if size > MAX_REPLY_BYTES:
            return


def _bounded(answer: httpx.Response, blocks: Iterable[bytes], deadline: float) -> httpx.Response:
    """The answer with its body read whole, within MAX_REPLY_BYTES and before `deadline`.

    The client's timeout bounds each read; a server dripping a byte every few seconds passes
    every one of them, so the attempt as a whole has its own deadline, checked between reads.
    """
    body = bytearray()
    for block in blocks:
        body += block
        if len(body) > MAX_REPLY_BYTES:
            raise ReplyTooLarge(answer.status_code)
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout(_TOO_SLOW, request=answer.request)
    headers = [(k, v) for k, v in answer.headers.multi_items() if k.lower() != "content-encoding"]
    return httpx.Response(answer.status_code, headers=headers, content=bytes(body), request=answer.request)
