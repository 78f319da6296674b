"""Server-side staff sessions (in every backend: SQLite and PostgreSQL), failure limits, Origin
and Content-Type checks (issue 11, item 5)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from litestar.testing import TestClient
from tests.conftest import PLANS_DIR, raw_execute

from coverage.stores.database import Database
from coverage.stores.sessions import StoredSession, digest
from coverage.web import create_app
from coverage.web.shared import SESSION_COOKIE
from coverage.web.throttle import MAX_FAILURES, FailureLimiter

KEY_A, KEY_B = "staff-key-alpha-0001", "staff-key-bravo-0002"
HTML = {"accept": "text/html"}
ADMISSIONS = {"plan_id": "acme-ppo-gold-2026", "start_date": "2026-03-02", "network": "in"}


def browser(keys: list[str], database: Database | None = None) -> TestClient:
    client = TestClient(create_app(PLANS_DIR, api_keys=keys, database=database))
    client.headers["Origin"] = str(client.base_url)
    return client


def log_in(client: TestClient, key: str) -> str:
    response = client.post("/login", data={"api_key": key, "next": "/admissions"}, follow_redirects=False)
    assert response.status_code == 303
    return response.cookies[SESSION_COOKIE]


def signed_in(client: TestClient, token: str) -> bool:
    client.cookies.set(SESSION_COOKIE, token)
    return client.get("/admissions", headers=HTML, follow_redirects=False).status_code == 200


def test_each_login_gets_a_fresh_random_session_kept_only_as_a_hash(
    database: Database, db_target: str
) -> None:
    with browser([KEY_A], database) as client:
        first, second = log_in(client, KEY_A), log_in(client, KEY_A)
        assert first != second
        assert len(first) >= 43  # 32 random bytes, URL-safe base64
        assert signed_in(client, first) and signed_in(client, second)
    rows = raw_execute(db_target, "SELECT token_hash, key_fingerprint FROM staff_sessions")
    assert sorted(rows) == sorted([(digest(first), digest(KEY_A)), (digest(second), digest(KEY_A))])
    if Path(db_target).exists():  # SQLite: not even a stray copy anywhere in the file or its WAL
        folder = Path(db_target).parent
        raw = b"".join(part.read_bytes() for part in folder.glob("coverage.sqlite*"))
        assert first.encode() not in raw and KEY_A.encode() not in raw
        assert digest(first).encode() in raw


def test_logout_revokes_the_cookie_on_the_server(database: Database) -> None:
    with browser([KEY_A], database) as client:
        token = log_in(client, KEY_A)
        assert signed_in(client, token)
        client.post("/logout")
        assert not signed_in(client, token)  # the old value, replayed, is worthless


def test_removing_the_key_ends_its_sessions(database: Database) -> None:
    with browser([KEY_A, KEY_B], database) as client:
        token_a, token_b = log_in(client, KEY_A), log_in(client, KEY_B)
    with browser([KEY_B], database) as restarted:  # KEY_A removed from COVERAGE_API_KEYS
        assert not signed_in(restarted, token_a)
        assert signed_in(restarted, token_b)


def test_an_expired_session_is_refused(database: Database) -> None:
    store = database.sessions
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    store.save(StoredSession(digest("old-token"), digest(KEY_A), past))
    assert store.get(digest("old-token")) == StoredSession(digest("old-token"), digest(KEY_A), past)
    with browser([KEY_A], database) as client:
        assert not signed_in(client, "old-token")


def test_saving_a_session_tidies_the_expired_ones(database: Database) -> None:
    now = dt.datetime.now(dt.UTC)
    database.sessions.save(StoredSession("a" * 64, digest(KEY_A), now - dt.timedelta(minutes=1)))
    database.sessions.save(StoredSession("b" * 64, digest(KEY_A), now + dt.timedelta(hours=8)))
    assert database.sessions.get("a" * 64) is None  # deleted by the second save
    assert database.sessions.get("b" * 64) is not None
    database.sessions.delete("b" * 64)
    assert database.sessions.get("b" * 64) is None


def test_repeated_failed_keys_get_429_with_retry_after() -> None:
    with browser([KEY_A]) as client:
        for _ in range(MAX_FAILURES):
            assert client.get("/plans", headers={"X-API-Key": "guess"}).status_code == 403
        blocked = client.get("/plans", headers={"X-API-Key": KEY_A})  # even the right key waits
        assert blocked.status_code == 429
        assert 1 <= int(blocked.headers["retry-after"]) <= 300
        assert "too many failed" in blocked.json()["errors"][0]["message"]
        login = client.post("/login", data={"api_key": KEY_A})
        assert login.status_code == 429


def test_repeated_failed_logins_get_429() -> None:
    with browser([KEY_A]) as client:
        for _ in range(MAX_FAILURES):
            assert client.post("/login", data={"api_key": "guess"}).status_code == 403
        assert client.post("/login", data={"api_key": KEY_A}).status_code == 429


def test_failure_window_slides() -> None:
    now = [1000.0]
    limiter = FailureLimiter(max_failures=2, window_s=60, clock=lambda: now[0])
    limiter.failed("1.2.3.4")
    now[0] += 30
    limiter.failed("1.2.3.4")
    # failures at t=1000 and t=1030; the first leaves the window at 1060: 30 s from now.
    assert limiter.retry_after("1.2.3.4") == 30
    assert limiter.retry_after("5.6.7.8") is None
    now[0] += 30
    assert limiter.retry_after("1.2.3.4") is None


@pytest.mark.parametrize("origin", ["https://evil.example", None])
def test_cookie_changes_from_another_site_are_refused(origin: str | None) -> None:
    with browser([KEY_A]) as client:
        log_in(client, KEY_A)
        headers = {"Origin": origin} if origin else {}
        if origin is None:
            del client.headers["Origin"]
        response = client.post("/admissions", data=ADMISSIONS, headers=headers)
        assert response.status_code == 403
        client.headers["Origin"] = str(client.base_url)
        assert client.post("/admissions", data=ADMISSIONS).status_code == 200
        # an API key is no cookie: no Origin needed
        api = client.post("/estimates", json=ADMISSIONS, headers={"X-API-Key": KEY_A, "Origin": "x"})
        assert api.status_code == 200


@pytest.mark.parametrize("route", ["/estimates", "/levels/recommend", "/verifications"])
def test_json_routes_require_application_json(route: str) -> None:
    with browser([KEY_A]) as client:
        body = b'{"plan_id": "acme-ppo-gold-2026", "start_date": "2026-03-02"}'
        response = client.post(
            route, content=body, headers={"X-API-Key": KEY_A, "content-type": "text/plain"}
        )
        assert response.status_code == 415
        assert "application/json" in response.json()["errors"][0]["message"]
