"""Fail-closed keys, security headers, private database files, a query-free access log (issue 11, 6-7)."""

from __future__ import annotations

import logging
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient
from tests.conftest import PLANS_DIR, REPO

from coverage.settings import DEV_STAFF_KEY, SettingsError, staff_api_keys
from coverage.stores.sqlite import SqliteVerificationStore
from coverage.web import create_app
from coverage.web.security import DropQueryString

KEY = {"X-API-Key": "test-staff-key"}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(PLANS_DIR, api_keys=["test-staff-key"])) as test_client:
        yield test_client


# --- item 6: fail closed ------------------------------------------------------------------------


def test_only_a_truly_unset_variable_uses_the_dev_key() -> None:
    assert staff_api_keys({}) == (frozenset({DEV_STAFF_KEY}), True)
    for blank in ("", " , ", ",,"):
        with pytest.raises(SettingsError, match="set but lists no key"):
            staff_api_keys({"COVERAGE_API_KEYS": blank})
    # 15 characters is one short of the 16-character minimum; one short key spoils the list.
    with pytest.raises(SettingsError, match="1 of 2 key"):
        staff_api_keys({"COVERAGE_API_KEYS": "a" * 16 + ",b" + "c" * 14})
    assert staff_api_keys({"COVERAGE_API_KEYS": " " + "k" * 16 + " ,"}) == (frozenset({"k" * 16}), False)


def test_the_server_refuses_to_start_with_one_clear_line(tmp_path: Path) -> None:
    env = {"COVERAGE_API_KEYS": " , ", "PATH": "/usr/bin:/bin", "COVERAGE_DB": str(tmp_path / "db")}
    done = subprocess.run(
        [sys.executable, "-c", "import coverage.web as web; web.app"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("coverage: cannot start: COVERAGE_API_KEYS is set but lists no key")
    assert "Traceback" not in done.stderr


# --- item 7: headers, files, access log -----------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/compare", {}),
        ("GET", "/health", {}),
        ("GET", "/plans", KEY),
        ("GET", "/plans/none-such", KEY),
        ("GET", "/static/coverage.css", {}),
        ("GET", "/admissions", {"accept": "text/html"}),  # the redirect to /login
        ("GET", "/no-such-page", {}),
        ("POST", "/estimates", KEY),  # a 400
    ],
)
def test_every_answer_carries_the_security_headers(
    client: TestClient, method: str, path: str, headers: dict[str, str]
) -> None:
    response = client.request(method, path, headers=headers, follow_redirects=False)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'none'" in csp
    assert "'unsafe-inline'" not in csp  # pages carry no inline style or script


def test_schema_page_loads_its_viewer_from_this_service_only(client: TestClient) -> None:
    csp = client.get("/schema").headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "https:" not in csp  # no other origin may serve a script, style, font or image
    assert "frame-ancestors 'none'" in csp


def test_database_and_wal_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "var" / "vob.sqlite"
    store = SqliteVerificationStore(path)
    with store.connect() as connection:  # a write makes SQLite create -wal and -shm
        connection.execute("CREATE TABLE t (x)")
        assert {p.name for p in path.parent.iterdir()} >= {"vob.sqlite", "vob.sqlite-wal", "vob.sqlite-shm"}
        for file in path.parent.iterdir():
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file.name
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_existing_database_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "vob.sqlite"
    path.touch(mode=0o644)
    path.chmod(0o644)
    SqliteVerificationStore(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_access_log_drops_query_strings() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/login?next=/verifications/7", "1.1", 200),
        None,
    )
    assert DropQueryString().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /login HTTP/1.1" 200'
    assert any(isinstance(f, DropQueryString) for f in logging.getLogger("uvicorn.access").filters)


# --- item 9: the schema tells the truth -----------------------------------------------------------


def test_a_405_names_the_allowed_methods(client: TestClient) -> None:
    response = client.delete("/plans", headers=KEY)
    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "OPTIONS"}
    assert response.json()["errors"][0]["field"] is None


def test_schema_documents_error_bodies_and_the_batch_body(client: TestClient) -> None:
    schema = client.get("/schema/openapi.json").json()
    estimates = schema["paths"]["/estimates"]["post"]["responses"]
    assert set(estimates) == {"200", "400", "401", "403", "404", "415", "422", "429"}
    error_body = {"$ref": "#/components/schemas/ErrorBody"}
    assert all(
        estimates[code]["content"]["application/json"]["schema"] == error_body
        for code in estimates
        if code != "200"
    )
    batch = schema["paths"]["/batch"]["post"]
    assert batch["requestBody"]["content"] == {"text/csv": {"schema": {"type": "string"}}}
    assert {"413", "422"} <= set(batch["responses"])
