"""Throughput of POST /estimates on one uvicorn worker, over loopback, in a bounded loop.

    .venv/bin/python scripts/bench_api.py [--seconds 20] [--max-requests 20000] [--concurrency 4]

Starts `uvicorn coverage.web:app` (one worker, access log off) on 127.0.0.1 at a free port,
warms it up, then keeps `--concurrency` requests in flight until `--seconds` pass or
`--max-requests` are sent, whichever comes first, and stops the server. Every request is the
standard weekly / IOP / PHP comparison for acme-ppo-gold-2026 from 2026-03-02 (50 priced
units at most per scenario). Reports requests/second and latency percentiles; any non-200
answer is counted and makes the exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests/ helpers
from tests.local_server import local_server

BODY = {"plan_id": "acme-ppo-gold-2026", "start_date": "2026-03-02", "network": "in", "category": "mh"}
WARM_UP = 50


class Tally:
    def __init__(self) -> None:
        self.sent = 0
        self.failures = 0
        self.latencies: list[float] = []


async def load(
    base_url: str, key: str, seconds: float, max_requests: int, concurrency: int
) -> tuple[Tally, float]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base_url, headers={"X-API-Key": key}, limits=limits, timeout=30
    ) as client:
        for _ in range(WARM_UP):
            (await client.post("/estimates", json=BODY)).raise_for_status()
        tally = Tally()
        started = time.perf_counter()
        deadline = started + seconds

        async def worker() -> None:
            while tally.sent < max_requests and time.perf_counter() < deadline:
                tally.sent += 1
                before = time.perf_counter()
                response = await client.post("/estimates", json=BODY)
                tally.latencies.append(time.perf_counter() - before)
                tally.failures += response.status_code != 200

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return tally, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="stop after this long (default 20)")
    parser.add_argument(
        "--max-requests", type=int, default=20_000, help="stop after this many (default 20000)"
    )
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight (default 4)")
    args = parser.parse_args()
    if args.max_requests < 2:
        parser.error("--max-requests must be at least 2 (latency percentiles need two samples)")
    key = secrets.token_urlsafe(16)
    with local_server(env={"COVERAGE_API_KEYS": key}) as base_url:
        tally, elapsed = asyncio.run(load(base_url, key, args.seconds, args.max_requests, args.concurrency))
    cuts = statistics.quantiles(tally.latencies, n=100)
    print(
        f"POST /estimates, 1 uvicorn worker, concurrency {args.concurrency}: {len(tally.latencies)} requests "
        f"in {elapsed:.1f} s = {len(tally.latencies) / elapsed:.1f} requests/s; latency p50 "
        f"{cuts[49] * 1000:.1f} ms, p95 {cuts[94] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms; "
        f"{tally.failures} non-200"
    )
    return 1 if tally.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
