"""A clearinghouse answer read into an outcome: rejections with their reasons, the trace
number, and the mapped benefits. Pure: the transport (`client.py`) hands it status and body."""

from __future__ import annotations

import msgspec

from coverage.eligibility.benefits import PayerRejection, VerificationResult
from coverage.eligibility.codes import AAA_MESSAGES, INACTIVE_CODES
from coverage.eligibility.mapping import map_benefits
from coverage.eligibility.payers import PayerAdapter
from coverage.eligibility.wire import PayerError, Response271


def _trace_number(response: Response271) -> str | None:
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


def _rejections(errors: list[PayerError]) -> list[PayerRejection]:
    return [
        PayerRejection(
            code=error.code,
            description=error.description,
            followup_action=error.followup_action,
            location=error.location or error.field,
        )
        for error in errors
    ]


def read_answer(
    status: int, content: bytes, common: dict[str, object], adapter: PayerAdapter
) -> VerificationResult:
    """A final (not transient) HTTP answer as an outcome; `common` carries the transport's facts
    (control number, attempts, status, raw body) into the result. Never raises."""
    try:
        response = msgspec.json.decode(content, type=Response271)
    except (msgspec.DecodeError, RecursionError) as exc:  # RecursionError: nested beyond reason
        if 400 <= status < 500:
            return VerificationResult(
                "rejected", f"the clearinghouse refused the request (HTTP {status})", **common
            )
        return VerificationResult("invalid_response", f"the response is not a usable 271: {exc}", **common)
    common = {**common, "trace_number": _trace_number(response)}
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
    benefits = map_benefits(response, adapter)
    if benefits.active is False:
        return VerificationResult("inactive", _inactive_message(response), benefits=benefits, **common)
    return VerificationResult("verified", "benefits verified", benefits=benefits, **common)


def _inactive_message(response: Response271) -> str:
    """Staff wording for a 271 whose only eligibility entries are inactive (EB01 6, 7 or 8)."""
    codes = sorted({e.code for e in response.benefits_information or [] if e.code in INACTIVE_CODES})
    stated = "; ".join(f"{INACTIVE_CODES[code]} (EB {code})" for code in codes)
    return (
        f"coverage is NOT active: the payer reports {stated} and no active coverage. Do not quote "
        "benefits: confirm the client's current insurance, or estimate at the self-pay rate"
    )

