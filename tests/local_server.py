"""A real uvicorn server on loopback, and headless Chromium, for the browser test, the
benchmark (`scripts/bench_api.py`) and the screenshots (`scripts/screenshots.py`).

The server runs `python -m coverage.serve` in a subprocess, exactly as `scripts/serve.sh`
does, on 127.0.0.1 at a free port, and is always stopped when the block exits.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def local_server(
    env: dict[str, str] | None = None, start_timeout: float = 30.0, workers: int = 1
) -> Iterator[str]:
    """Yield the base URL of uvicorn serving coverage.web:app on `workers` processes; stop it afterwards."""
    with local_server_process(env, start_timeout, workers) as (base_url, _):
        yield base_url


@contextmanager
def local_server_process(
    env: dict[str, str] | None = None, start_timeout: float = 30.0, workers: int = 1
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """As local_server, with the server's process too (for measuring its memory)."""
    port = free_port()
    command = [sys.executable, "-m", "coverage.serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, env={**os.environ, **(env or {})}, stderr=subprocess.PIPE, text=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {process.returncode}: {process.stderr.read()}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{base_url}/health", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not answer {base_url}/health within {start_timeout} s")
            time.sleep(0.1)
        yield base_url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def launch_chromium(playwright: Any) -> Any:
    """Headless Debian Chromium (not Playwright's own download), isolated from the network."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@contextmanager
def fake_clearinghouse(answer: bytes) -> Iterator[tuple[str, list[bytes]]]:
    """A clearinghouse on loopback answering every POST with the 271 JSON `answer`; yields its
    eligibility URL and the inquiries received (for COVERAGE_ELIGIBILITY_URL)."""
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's method name
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/eligibility", received
    finally:
        server.shutdown()
