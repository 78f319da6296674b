"""Serve `coverage.web:app` with uvicorn on N worker processes, each with its own TCP listener.

    python -m coverage.serve [--host 127.0.0.1] [--port 8000] [--workers N] [--no-access-log]

Defaults come from HOST, PORT and WORKERS (1). Why not `uvicorn --workers N`:

- uvicorn binds the shared listener in `Config.bind_socket` with protocol 0, and asyncio turns
  on TCP_NODELAY only for sockets whose protocol is IPPROTO_TCP, so every keep-alive response
  after the first waits for Nagle's algorithm and the client's delayed ACK (about 40 ms on
  Linux; uvicorn issue 3149). Listeners here are created with IPPROTO_TCP and TCP_NODELAY.
- With one shared listener, whichever worker wakes first accepts every connection waiting, so a
  client that opens its keep-alive connections together (a proxy's pool, a load generator) can
  land them all on one worker. Each worker here has its own listener on the same port
  (SO_REUSEPORT), and the kernel spreads new connections across them.

The supervisor restarts a worker that dies (unless it failed at start-up, as uvicorn's does)
and stops them all on SIGINT or SIGTERM. It imports no part of the app; each worker loads it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import socket
import threading
from multiprocessing.process import BaseProcess

import uvicorn
from uvicorn.config import STARTUP_FAILURE

APP = "coverage.web:app"


def tcp_listener(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    """A bound TCP socket whose accepted connections asyncio sets to TCP_NODELAY."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listener.bind((host, port))
    return listener


def _worker(config: uvicorn.Config, listener: socket.socket) -> None:
    config.configure_logging()  # a spawned process starts with logging unset
    uvicorn.Server(config).run(sockets=[listener])


def serve(host: str, port: int, workers: int, access_log: bool = True, log_level: str = "info") -> None:
    """Serve until interrupted: in this process for one worker, else under a small supervisor."""
    config = uvicorn.Config(APP, host=host, port=port, access_log=access_log, log_level=log_level)
    if workers == 1:
        uvicorn.Server(config).run(sockets=[tcp_listener(host, port)])
        return
    listeners = [tcp_listener(host, port, reuse_port=True) for _ in range(workers)]
    spawn = multiprocessing.get_context("spawn")
    stop = threading.Event()
    for stopping in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stopping, lambda *_: stop.set())

    def start(listener: socket.socket) -> BaseProcess:
        process = spawn.Process(target=_worker, args=(config, listener))
        process.start()
        return process

    processes = [start(listener) for listener in listeners]
    while not stop.wait(0.5):
        for index, process in enumerate(processes):
            if process.exitcode is None:
                continue
            if process.exitcode == STARTUP_FAILURE:  # the app or the port is broken: a restart fails too
                stop.set()
                break
            processes[index] = start(listeners[index])
    for process in processes:
        if process.exitcode is None:
            process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
    for process in processes:
        process.join()


def _positive(text: str) -> int:
    if not (text.isascii() and text.isdigit() and int(text) >= 1):
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m coverage.serve", description="Serve the API and pages.")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=_positive, default=os.environ.get("PORT", "8000"))
    parser.add_argument("--workers", type=_positive, default=os.environ.get("WORKERS", "1"))
    parser.add_argument("--no-access-log", action="store_true", help="do not log each request")
    parser.add_argument(
        "--log-level", default="info", choices=("critical", "error", "warning", "info", "debug")
    )
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.workers, access_log=not args.no_access_log, log_level=args.log_level)


if __name__ == "__main__":
    main()
