"""Two service processes sharing one PostgreSQL database: verifications and logins written
through both at once are neither lost nor duplicated, and a logout on one is honoured by the other.

Two real uvicorn processes on loopback (tests/local_server.py), a fake clearinghouse on loopback
answering every inquiry with a canned 271, and the throwaway server of tests/postgres_server.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from tests.conftest import INQUIRY_FIELDS, PLANS_DIR, raw_execute
from tests.local_server import local_server
from tests.postgres_server import PostgresServer

from coverage.web.shared import SESSION_COOKIE

KEY = "two-process-staff-key-0001"
ANSWER = (Path(__file__).parent / "data" / "eligibility" / "deductible_remaining.json").read_bytes()
VERIFICATIONS = 24  # 12 through each process
LOGINS = 16  # 8 through each process
BODY = {name: value for name, value in INQUIRY_FIELDS.items() if not name.startswith("provider_")}


class _Clearinghouse(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)

    def log_message(self, format: str, *args: object) -> None:  # the test's output stays quiet
        return


@contextmanager
def fake_clearinghouse() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Clearinghouse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/eligibility"
    finally:
        server.shutdown()
        server.server_close()


def verify(base_url: str, number: int) -> int:
    body = BODY | {"performed_by": f"intake-{number}"}
    response = httpx.post(f"{base_url}/verifications", json=body, headers={"X-API-Key": KEY}, timeout=30)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def log_in(base_url: str) -> str:
    response = httpx.post(f"{base_url}/login", data={"api_key": KEY, "next": "/admissions"}, timeout=30)
    assert response.status_code == 303, response.text
    return response.cookies[SESSION_COOKIE]


def signed_in(base_url: str, token: str) -> bool:
    headers = {"cookie": f"{SESSION_COOKIE}={token}", "accept": "text/html"}
    status = httpx.get(f"{base_url}/admissions", headers=headers, timeout=30).status_code
    assert status in (200, 303)  # 303: sent to /login
    return status == 200


def log_out(base_url: str, token: str) -> None:
    headers = {"cookie": f"{SESSION_COOKIE}={token}", "origin": base_url}
    assert httpx.post(f"{base_url}/logout", headers=headers, timeout=30).status_code == 303


def test_two_processes_share_verifications_and_sessions(postgres_server: PostgresServer) -> None:
    url = postgres_server.new_database()
    with ExitStack() as stack:
        clearinghouse = stack.enter_context(fake_clearinghouse())
        env = {
            "COVERAGE_DB": url,
            "COVERAGE_API_KEYS": KEY,
            "COVERAGE_PLANS_DIR": str(PLANS_DIR),
            "COVERAGE_ELIGIBILITY_URL": clearinghouse,
            "COVERAGE_PROVIDER_NPI": "1234567893",
            "COVERAGE_PROVIDER_NAME": "Sample Behavioral Health",
        }
        servers = [stack.enter_context(local_server(env)), stack.enter_context(local_server(env))]
        # Both processes first touch the database inside this burst, so they also migrate it at once.
        with ThreadPoolExecutor(8) as pool:
            saved = pool.map(lambda n: (n, verify(servers[n % 2], n)), range(VERIFICATIONS))
            tokens = list(pool.map(lambda n: log_in(servers[n % 2]), range(LOGINS)))
            ids = dict(saved)

        # None lost, none duplicated: 24 distinct ids, and each process lists all 24, each once.
        assert len(set(ids.values())) == VERIFICATIONS
        for base_url in servers:
            listing = httpx.get(f"{base_url}/verifications?limit=200", headers={"X-API-Key": KEY}).json()
            assert listing["total"] == VERIFICATIONS
            assert sorted(row["id"] for row in listing["records"]) == sorted(ids.values())
            assert {row["id"]: row["performed_by"] for row in listing["records"]} == {
                record_id: f"intake-{n}" for n, record_id in ids.items()
            }
        assert len(set(tokens)) == LOGINS
        assert raw_execute(url, "SELECT count(*) FROM staff_sessions") == [(LOGINS,)]

        # Every session opened on one process is good on the other; a logout on either ends it on both.
        first, second = servers
        assert all(signed_in(second, token) for token in tokens[0::2])  # opened on the first
        assert all(signed_in(first, token) for token in tokens[1::2])  # opened on the second
        log_out(first, tokens[1])  # opened on the second, ended on the first
        log_out(second, tokens[0])  # opened on the first, ended on the second
        assert not signed_in(second, tokens[1]) and not signed_in(first, tokens[1])
        assert not signed_in(first, tokens[0]) and not signed_in(second, tokens[0])
        assert signed_in(first, tokens[2]) and signed_in(second, tokens[3])  # the others live on
        assert raw_execute(url, "SELECT count(*) FROM staff_sessions") == [(LOGINS - 2,)]
