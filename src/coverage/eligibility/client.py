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
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpx
from msgspec import Struct

from coverage.eligibility.answer import read_answer
from coverage.eligibility.benefits import VerificationResult
from coverage.eligibility.config import EligibilityConfig
from coverage.eligibility.inquiry import EligibilityRequest, request_body
from coverage.eligibility.payers import adapter_for

logger = logging.getLogger(__name__)

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
