"""The clearinghouse transport: one inquiry sent with bounded retries, sync (CLI) or async (web).

Both transports run the same `RetryPolicy` and hand the last answer to the same interpreter
(`coverage.eligibility.answer`). Nothing here logs member data (PHI): log lines carry the
payer id, outcome, HTTP status, attempt count and trace number only.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable

import httpx
from msgspec import Struct

from coverage.eligibility.answer import read_answer
from coverage.eligibility.benefits import VerificationResult
from coverage.eligibility.config import EligibilityConfig
from coverage.eligibility.inquiry import EligibilityRequest, request_body
from coverage.eligibility.payers import adapter_for

logger = logging.getLogger(__name__)

Attempt = httpx.Response | httpx.TransportError


class RetryPolicy(Struct, frozen=True):
    """Bounded exponential backoff for transient failures, shared by both transports.

    Retried: connection errors, timeouts, 429 and 5xx. Never retried: other 4xx (asking
    again with the same data gets the same answer) and any answer that parsed.
    """

    max_attempts: int = 3
    first_delay_s: float = 0.5
    max_delay_s: float = 8.0

    @staticmethod
    def is_transient(attempt: Attempt) -> bool:
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


def interpret(
    attempt: Attempt, attempts: int, control_number: str, timeout_s: float, payer_id: str = ""
) -> VerificationResult:
    """Turn the last HTTP answer (or transport failure) into an outcome, read with the payer's
    adapter; never raises."""
    common: dict[str, object] = {"control_number": control_number, "attempts": attempts}
    if isinstance(attempt, httpx.TransportError):
        kind = "timed out" if isinstance(attempt, httpx.TimeoutException) else "could not be reached"
        return VerificationResult(
            "unavailable",
            f"the clearinghouse {kind} ({type(attempt).__name__}, {timeout_s:g} s timeout) "
            f"after {attempts} attempt(s); try again later",
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
    return read_answer(status, attempt.content, common, adapter_for(payer_id))


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
        result = interpret(
            attempt, attempts, prepared.control_number, self.config.timeout_s, request.payer_id
        )
        logger.info(
            "eligibility check payer=%s outcome=%s http=%s attempts=%d trace=%s",
            request.payer_id,
            result.outcome,
            result.http_status,
            attempts,
            result.trace_number,
        )
        return result

    def verify(self, request: EligibilityRequest) -> VerificationResult:
        prepared = self._prepare(request)
        if isinstance(prepared, VerificationResult):
            return prepared
        with httpx.Client(timeout=self.config.timeout_s, headers=prepared.headers) as client:
            attempts = 0
            while True:
                attempts += 1
                try:
                    attempt: Attempt = client.post(prepared.url, json=prepared.body)
                except httpx.TransportError as exc:
                    attempt = exc
                delay = self._next_delay(attempts, attempt)
                if delay is None:
                    return self._finish(request, prepared, attempt, attempts)
                self._sleep(delay)

    async def verify_async(self, request: EligibilityRequest) -> VerificationResult:
        prepared = self._prepare(request)
        if isinstance(prepared, VerificationResult):
            return prepared
        async with httpx.AsyncClient(timeout=self.config.timeout_s, headers=prepared.headers) as client:
            attempts = 0
            while True:
                attempts += 1
                try:
                    attempt: Attempt = await client.post(prepared.url, json=prepared.body)
                except httpx.TransportError as exc:
                    attempt = exc
                delay = self._next_delay(attempts, attempt)
                if delay is None:
                    return self._finish(request, prepared, attempt, attempts)
                await self._async_sleep(delay)
