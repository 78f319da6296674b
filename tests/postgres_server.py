"""A throwaway PostgreSQL server for the tests: initdb in a temporary folder, postgres on a unix
socket in that folder and on a free loopback port, stopped (and the folder removed) afterwards.

The server binaries are Debian's (`/usr/lib/postgresql/<version>/bin`, installed by
`scripts/install-postgres.sh`) or the first `initdb` on PATH. PostgreSQL refuses to run as
root, so under root the server runs as the `postgres` system user, in a folder it owns.
Whatever stops the server from starting is raised as `Unavailable` with the reason.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from tests.local_server import free_port

DEBIAN_BINARIES = Path("/usr/lib/postgresql")
USER = "coverage"  # the cluster's superuser; trust authentication, loopback and the socket only


class Unavailable(Exception):
    """No PostgreSQL server can be started here; the message says why."""


def server_binaries() -> Path | None:
    """The newest Debian PostgreSQL's bin folder, else the folder of `initdb` on PATH."""
    versions = sorted(DEBIAN_BINARIES.glob("*/bin/initdb"), key=lambda path: int(path.parts[-3]))
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class PostgresServer:
    """A running throwaway server: a fresh database per test, by URL."""

    def __init__(self, port: int, socket_dir: Path) -> None:
        self.port = port
        self.socket_dir = socket_dir
        self._names = itertools.count(1)

    def url(self, database: str) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """The URL of a new, empty database."""
        name = f"test_{next(self._names)}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _as_server_user(folder: Path) -> dict[str, Any]:
    """Popen options that run a command as `postgres` when we are root (nothing otherwise)."""
    if os.geteuid() != 0:
        return {}
    try:
        account = pwd.getpwnam("postgres")
    except KeyError:
        raise Unavailable("the tests run as root and there is no `postgres` user to run the server") from None
    os.chown(folder, account.pw_uid, account.pw_gid)
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def _wait_until_ready(server: PostgresServer, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise Unavailable(f"postgres exited with {process.returncode}: {log.read_text()[-500:]}")
        try:
            psycopg.connect(server.url("postgres"), connect_timeout=2).close()
            return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                tail = log.read_text()[-500:]
                raise Unavailable(f"postgres did not accept connections in 30 s: {tail}") from exc
            time.sleep(0.1)


@contextmanager
def throwaway_server() -> Iterator[PostgresServer]:
    """Start a server in a new temporary folder; stop it and remove the folder afterwards."""
    binaries = server_binaries()
    if binaries is None:
        raise Unavailable(
            "no PostgreSQL server binaries (initdb, postgres): install Debian's `postgresql` package "
            "(as root: bash scripts/install-postgres.sh)"
        )
    folder = Path(tempfile.mkdtemp(prefix="coverage-pg-"))  # short: a socket path has a 107-byte limit
    try:
        options = {"cwd": folder, **_as_server_user(folder)}
        data, log = folder / "data", folder / "server.log"
        setup = ["-U", USER, "--auth=trust", "--encoding=UTF8", "--locale=C"]
        initdb = subprocess.run(  # --no-sync: a throwaway cluster need not survive a power cut
            [binaries / "initdb", "-D", data, *setup, "--no-sync"],
            capture_output=True,
            text=True,
            check=False,
            **options,
        )
        if initdb.returncode != 0:
            raise Unavailable(f"initdb failed: {initdb.stderr.strip()[-500:]}")
        server = PostgresServer(free_port(), folder)
        settings = {"listen_addresses": "127.0.0.1", "fsync": "off", "synchronous_commit": "off"}
        command: list[str | Path] = [binaries / "postgres", "-D", data, "-k", folder, "-p", str(server.port)]
        for name, value in settings.items():
            command += ["-c", f"{name}={value}"]
        with log.open("wb") as log_file:
            process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, **options)
        try:
            _wait_until_ready(server, process, log)
            yield server
        finally:
            process.send_signal(signal.SIGINT)  # "fast" shutdown: disconnect clients, stop
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
