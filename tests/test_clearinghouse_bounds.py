"""Clearinghouse answers are bounded in size, time and nesting (issue 11, item 4).

Oversized and deeply nested answers are recorded as invalid_response; an answer that drips
in too slowly is cut off at the attempt's deadline (not per read) and recorded unavailable.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import respx
from tests.conftest import INQUIRY_FIELDS

from coverage.eligibility.benefits import VerificationResult
from coverage.eligibility.client import MAX_REPLY_BYTES, EligibilityClient, RetryPolicy
from coverage.eligibility.config import EligibilityConfig
from coverage.eligibility.inquiry import build_request

URL = "https://clearinghouse.test/eligibility"
REQUEST = build_request(INQUIRY_FIELDS, today=dt.date(2026, 3, 1))
ONE_TRY = RetryPolicy(max_attempts=1)


def client(timeout_s: float = 15.0, policy: RetryPolicy = ONE_TRY) -> EligibilityClient:
    config = EligibilityConfig(url=URL, api_key="k", timeout_s=timeout_s)

    async def no_wait(_: float) -> None:
        return None

    return EligibilityClient(config, policy, sleep=lambda _: None, async_sleep=no_wait)


def verify(
    answer: httpx.Response, timeout_s: float = 15.0, policy: RetryPolicy = ONE_TRY
) -> VerificationResult:
    with respx.mock:
        respx.post(URL).mock(return_value=answer)
        return client(timeout_s, policy).verify(REQUEST)


def verify_async(answer: httpx.Response, timeout_s: float = 15.0) -> VerificationResult:
    async def run() -> VerificationResult:
        with respx.mock:
            respx.post(URL).mock(return_value=answer)
            return await client(timeout_s).verify_async(REQUEST)

    return asyncio.run(run())


def test_an_oversized_reply_is_invalid_and_not_kept() -> None:
    # A valid JSON object one byte over the cap: {"x": "aaa...a"} with 1 MB of a's.
    big = b'{"x": "' + b"a" * MAX_REPLY_BYTES + b'"}'
    for result in (verify(httpx.Response(200, content=big)), verify_async(httpx.Response(200, content=big))):
        assert result.outcome == "invalid_response"
        assert "larger than 1024 KB" in result.message
        assert result.raw_response is None
        assert result.attempts == 1


def test_a_reply_nested_100000_levels_is_invalid_not_a_crash() -> None:
    nested = b'{"benefitsInformation": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    result = verify(httpx.Response(200, content=nested))
    assert result.outcome == "invalid_response"
    assert "not a usable 271" in result.message


def _drip() -> Iterator[bytes]:
    for _ in range(100):  # 100 bytes, 0.2 s apart: 20 s if nobody stops it
        time.sleep(0.2)
        yield b" "


async def _async_drip() -> AsyncIterator[bytes]:
    for _ in range(100):
        await asyncio.sleep(0.2)
        yield b" "


def test_a_dripping_server_is_cut_off_at_the_attempt_deadline() -> None:
    # Each byte arrives well inside the 1 s timeout, so only an overall deadline stops it.
    result = verify(httpx.Response(200, stream=_DripStream()), timeout_s=1.0)
    assert result.outcome == "unavailable"
    assert "timed out" in result.message
    result = verify_async(httpx.Response(200, content=_async_drip()), timeout_s=1.0)
    assert result.outcome == "unavailable"
    assert "timed out" in result.message


class _DripStream(httpx.SyncByteStream):
    def __iter__(self) -> Iterator[bytes]:
        yield from _drip()


def test_retries_stop_at_the_verification_deadline() -> None:
    # 503 is transient; with a 0 s verification deadline no retry fits, so one attempt is all.
    policy = RetryPolicy(max_attempts=3, verification_deadline_s=0.0)
    result = verify(httpx.Response(503, content=b"{}"), policy=policy)
    assert result.outcome == "unavailable"
    assert result.attempts == 1
