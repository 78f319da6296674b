"""Peak memory of the server for `POST /batch?monthly=true` on a 20 MB upload (a script, not a test).

Builds a CSV just under the 20 MB limit from the rows of tests/data/batch_sample.csv (each with
its own client_id), starts `uvicorn coverage.web:app` on loopback, posts it with monthly=true,
and prints the server process's peak resident memory (VmHWM from /proc) and the answer's size.
Target (issue 11): under 500 MB peak RSS.

    python scripts/bench_batch_upload_memory.py [--megabytes 20]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import httpx

from coverage.web.batch import MAX_UPLOAD_BYTES

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests/ helpers
from tests.local_server import local_server_process

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "data" / "batch_sample.csv"
KEY = "bench-staff-key-0123456789"


def upload(limit: int) -> bytes:
    """Sample rows repeated, each with a fresh client_id, up to `limit` bytes."""
    header, *rows = SAMPLE.read_text().splitlines()
    lines, size = [header], len(header) + 1
    for number, row in zip(itertools.count(1), itertools.cycle(rows), strict=False):
        line = f"C-{number}," + row.split(",", 1)[1]
        if size + len(line) + 1 > limit:
            break
        lines.append(line)
        size += len(line) + 1
    return ("\n".join(lines) + "\n").encode()


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc: Linux only")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=MAX_UPLOAD_BYTES / 1024**2)
    args = parser.parse_args()
    body = upload(min(int(args.megabytes * 1024**2), MAX_UPLOAD_BYTES))
    env = {"COVERAGE_API_KEYS": KEY, "COVERAGE_PLANS_DIR": str(ROOT / "plans")}
    with local_server_process(env) as (base_url, process):
        idle = peak_rss_mb(process.pid)
        started = time.perf_counter()
        answer = httpx.post(
            f"{base_url}/batch",
            params={"monthly": "true"},
            content=body,
            headers={"X-API-Key": KEY, "Content-Type": "text/csv"},
            timeout=600,
        )
        elapsed = time.perf_counter() - started
        peak = peak_rss_mb(process.pid)
    rows = body.count(b"\n") - 1
    print(f"upload: {len(body) / 1024**2:.1f} MB, {rows:,} rows; monthly=true")
    print(f"answer: HTTP {answer.status_code}, {len(answer.content) / 1024**2:.1f} MB zip in {elapsed:.1f} s")
    print(f"server peak RSS: {peak:.0f} MB (idle before the request: {idle:.0f} MB)")


if __name__ == "__main__":
    main()
