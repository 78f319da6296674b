"""What only the PostgreSQL backend has to show: migrations under an advisory lock when many
processes open one database at once, errors without PHI or the password, TLS settings passed
through the URL. (The shared store tests run on it too: test_vob_store, test_sessions.)"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from litestar.testing import TestClient
from tests.conftest import PLANS_DIR, raw_execute
from tests.local_server import free_port
from tests.postgres_server import PostgresServer
from tests.test_vob_store import request_for, result_from

from coverage.cli import main
from coverage.eligibility.benefits import VerificationResult
from coverage.stores import sql
from coverage.stores.database import open_database
from coverage.stores.sql import StoreError, schema_version
from coverage.web import create_app


def test_databases_opened_at_once_are_migrated_once(postgres_server: PostgresServer) -> None:
    url = postgres_server.new_database()
    openers = 6
    start = threading.Barrier(openers)

    def open_and_read() -> int:
        with open_database(url) as database:  # each its own connections, as separate processes have
            start.wait()
            return schema_version(database.backend)

    with ThreadPoolExecutor(openers) as pool:
        versions = list(pool.map(lambda _: open_and_read(), range(openers)))
    assert versions == [5] * openers
    assert raw_execute(url, "SELECT version FROM schema_version") == [(5,)]  # one row, not six


def test_a_refused_write_names_the_constraint_but_quotes_no_phi(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Let an outcome past the store's own check, so that PostgreSQL's CHECK refuses the row; its
    # DETAIL ("Failing row contains (...)") would carry the member's name and id.
    monkeypatch.setattr(sql, "STORED_OUTCOMES", (*sql.STORED_OUTCOMES, "not_configured"))
    with open_database(postgres_server.new_database()) as database, pytest.raises(StoreError) as refused:
        database.verifications.save(request_for(), VerificationResult("not_configured", "off"), "intake-1")
    message = str(refused.value)
    assert "CheckViolation (SQLSTATE 23514)" in message
    assert "constraint verifications_outcome_check" in message
    for phi in ("ZZA123456789", "Jane", "Doe", "1990-02-15"):
        assert phi not in message
    assert refused.value.__cause__ is None and refused.value.__suppress_context__  # no chained original


def test_connection_errors_say_why_without_the_password(postgres_server: PostgresServer) -> None:
    url = f"postgresql://coverage:hunter2-secret@127.0.0.1:{postgres_server.port}/no_such_database"
    with open_database(url) as database, pytest.raises(StoreError) as refused:
        database.verifications.get(1)
    message = str(refused.value)
    assert message.startswith(f"PostgreSQL database 'no_such_database' on 127.0.0.1:{postgres_server.port}")
    assert 'database "no_such_database" does not exist' in message
    assert "hunter2" not in message


def test_tls_settings_in_the_url_reach_the_driver(postgres_server: PostgresServer) -> None:
    # The throwaway server has no TLS: a URL that requires it must be refused, not quietly downgraded.
    url = postgres_server.new_database() + "?sslmode=require"
    with open_database(url) as database, pytest.raises(StoreError, match="SSL"):
        database.sessions.get("0" * 64)
    plain = url.removesuffix("?sslmode=require")
    with open_database(plain) as database:
        assert database.sessions.get("0" * 64) is None


def test_the_pool_reopens_after_close(postgres_server: PostgresServer) -> None:
    with open_database(postgres_server.new_database()) as database:
        first = database.verifications.save(request_for(), result_from("out_of_network.json"), "intake-1")
        database.close()  # the app's shutdown; a later startup (tests, reloads) uses it again
        assert database.verifications.get(first) is not None


def test_a_database_that_is_down_is_a_503_and_a_log_line_without_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"postgresql://coverage:hunter2-secret@127.0.0.1:{free_port()}/coverage?connect_timeout=2"
    app = create_app(PLANS_DIR, api_keys=["test-staff-key"], database=open_database(url))
    with TestClient(app) as client, caplog.at_level(logging.ERROR, logger="coverage.web"):
        response = client.get("/verifications", headers={"X-API-Key": "test-staff-key"})
    assert response.status_code == 503
    (error,) = response.json()["errors"]
    assert error["message"] == "the service's database is unavailable; try again shortly"
    assert "PostgreSQL database 'coverage' on 127.0.0.1" in caplog.text
    assert "hunter2" not in caplog.text and "hunter2" not in response.text


def test_the_cli_says_the_database_is_down_and_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COVERAGE_DB", f"postgresql://coverage@127.0.0.1:{free_port()}/coverage?connect_timeout=2")
    command = ["estimate", "--plan", "acme-ppo-gold-2026", "--start", "2026-03-02", "--verification-id", "1"]
    assert main(command) == 1
    assert capsys.readouterr().err.startswith("coverage: error: PostgreSQL database 'coverage' on 127.0.0.1")
