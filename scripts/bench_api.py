"""Throughput of the web service over loopback: the API against the framework's floor, and workers.

    .venv/bin/python scripts/bench_api.py [--seconds 10] [--concurrency 4] [--scaling-concurrency 16]
                                          [--python-client]

One run, each measurement `--seconds` long over keep-alive connections to 127.0.0.1:

1. one worker (`python -m coverage.serve --workers 1`), `--concurrency` connections:
   `GET /health` (the framework's floor), then `POST /estimates` (the standard weekly / IOP /
   PHP comparison for acme-ppo-gold-2026 from 2026-03-02); goal: estimates >= 25% of health;
2. one worker, then two workers (`--workers 2`), `POST /estimates` over `--scaling-concurrency`
   connections; goal: two workers >= 1.8x one, with a keep-alive p50 not above one worker's.
   A keep-alive connection stays with the worker that accepted it and the kernel spreads new
   connections over the workers' listeners at random, so 4 connections split 2-2 only 3 times
   in 8; 16 keep both workers busy in practice.

The load comes from `wrk` when it is installed (`apt-get install -y wrk`: a C client that leaves
the cores to the server), else from a small asyncio client here (`--python-client` forces it),
which needs CPU itself and so understates what the server can do. Any non-200 answer is counted
and makes the exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests/ helpers
from tests.local_server import local_server

BODY = json.dumps(
    {"plan_id": "acme-ppo-gold-2026", "start_date": "2026-03-02", "network": "in", "category": "mh"}
)
WARM_UP_SECONDS = 2  # imports, caches and the first estimates, on every worker
WRK_REPORT = """
done = function(summary, latency, requests)
  io.write(string.format('{"requests": %d, "seconds": %f, "non_200": %d, "errors": %d, '
    .. '"p50_ms": %f, "p99_ms": %f}\\n', summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1e3, latency:percentile(99) / 1e3))
end
"""


@dataclass(frozen=True)
class Load:
    """One measurement's target: method, path and how many connections for how long."""

    base_url: str
    method: str
    path: str
    key: str
    connections: int
    seconds: float


@dataclass(frozen=True)
class Result:
    label: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    failures: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def line(self) -> str:
        return (
            f"{self.label:48s} {self.per_second:7,.0f} requests/s  p50 {self.p50_ms:6.2f} ms  "
            f"p99 {self.p99_ms:6.2f} ms  ({self.requests:,} in {self.seconds:.1f} s, {self.failures} failed)"
        )


def _raw_request(load: Load) -> bytes:
    head = f"{load.method} {load.path} HTTP/1.1\r\nHost: {urlsplit(load.base_url).netloc}\r\n"
    head += f"X-API-Key: {load.key}\r\n"
    body = BODY.encode() if load.method == "POST" else b""
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


async def _asyncio_load(load: Load) -> tuple[list[float], int]:
    """Keep-alive HTTP/1.1 over raw asyncio streams (far lighter than a client library):
    every answer's latency in seconds, and how many were not 200."""
    parts = urlsplit(load.base_url)
    request = _raw_request(load)
    latencies: list[float] = []
    failures = 0
    deadline = time.perf_counter() + load.seconds

    async def connection() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            while time.perf_counter() < deadline:
                before = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - before)
                failures += not head.startswith(b"HTTP/1.1 200")
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(load.connections)))
    return latencies, failures


def _wrk(wrk: str, load: Load) -> Result:
    script = f'wrk.method = "{load.method}"\nwrk.headers["X-API-Key"] = "{load.key}"\n'
    if load.method == "POST":
        script += f'wrk.body = {json.dumps(BODY)}\nwrk.headers["Content-Type"] = "application/json"\n'
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script + WRK_REPORT)
    command = [wrk, "-t1", f"-c{load.connections}", f"-d{round(load.seconds)}s", "-s", handle.name]
    try:
        command.append(load.base_url + load.path)
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    finally:
        Path(handle.name).unlink()
    report = json.loads(output.strip().splitlines()[-1])
    failed = int(report["non_200"] + report["errors"])
    return Result("", int(report["requests"]), report["seconds"], report["p50_ms"], report["p99_ms"], failed)


def measure(label: str, load: Load, use_wrk: bool) -> Result:
    """Warm every worker up over the same connections, then load the server for `load.seconds`."""
    _, failures = asyncio.run(_asyncio_load(replace(load, seconds=WARM_UP_SECONDS)))
    if failures:
        raise SystemExit(f"{label}: {failures} warm-up answers were not 200")
    if use_wrk:
        return replace(_wrk(shutil.which("wrk") or "wrk", load), label=label)
    started = time.perf_counter()
    latencies, failures = asyncio.run(_asyncio_load(load))
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return Result(label, len(latencies), elapsed, cuts[49] * 1000, cuts[98] * 1000, failures)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10, help="each measurement (default 10)")
    parser.add_argument("--concurrency", type=int, default=4, help="for health vs estimates (4)")
    parser.add_argument("--scaling-concurrency", type=int, default=16, help="for 1 vs 2 workers (16)")
    parser.add_argument("--python-client", action="store_true", help="the asyncio client even with wrk")
    args = parser.parse_args()
    if not 1 <= args.seconds <= 120:
        parser.error("--seconds must be 1-120")
    if not (1 <= args.concurrency <= 64 and 1 <= args.scaling_concurrency <= 64):
        parser.error("--concurrency and --scaling-concurrency must be 1-64")
    use_wrk = not args.python_client and shutil.which("wrk") is not None
    key = secrets.token_urlsafe(16)
    client = "wrk, 1 thread" if use_wrk else "the asyncio client in this process"
    print(f"load: {client}; keep-alive connections to 127.0.0.1; {args.seconds} s per measurement")
    plan = {  # (workers, method, path, connections) per measurement, in this order
        "health": (1, "GET", "/health", args.concurrency),
        "estimates": (1, "POST", "/estimates", args.concurrency),
        "1 worker": (1, "POST", "/estimates", args.scaling_concurrency),
        "2 workers": (2, "POST", "/estimates", args.scaling_concurrency),
    }
    results: dict[str, Result] = {}
    for workers in (1, 2):
        with local_server(env={"COVERAGE_API_KEYS": key}, workers=workers) as base_url:
            for name, (on, method, path, connections) in plan.items():
                if on == workers:
                    label = f"{workers} worker(s), {method} {path}, {connections} connections"
                    load = Load(base_url, method, path, key, connections, args.seconds)
                    results[name] = measure(label, load, use_wrk)
                    print(results[name].line())
    health, estimates = results["health"], results["estimates"]
    single, double = results["1 worker"], results["2 workers"]
    print(
        f"ratios: estimates/health on 1 worker {estimates.per_second / health.per_second:.1%} (goal >= 25%); "
        f"2 workers/1 worker {double.per_second / single.per_second:.2f}x (goal >= 1.8x); keep-alive p50 "
        f"{double.p50_ms:.2f} ms on 2 workers vs {single.p50_ms:.2f} ms on 1 (goal: not above)"
    )
    return 1 if any(result.failures for result in results.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
