"""The launcher's listeners: accepted connections get TCP_NODELAY, several workers share a port."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from tests.local_server import free_port, local_server

from coverage.serve import main, tcp_listener


@pytest.mark.parametrize("reuse_port", [False, True])
def test_accepted_connections_have_tcp_nodelay(reuse_port: bool) -> None:
    """asyncio sets TCP_NODELAY only on sockets made with IPPROTO_TCP (uvicorn issue 3149):
    with protocol 0 this reads 0 and keep-alive answers wait ~40 ms for a delayed ACK."""
    listener = tcp_listener("127.0.0.1", free_port(), reuse_port=reuse_port)
    seen: list[int] = []

    async def accept_one() -> None:
        def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            seen.append(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(on_connect, sock=listener)
        _, writer = await asyncio.open_connection(*listener.getsockname())
        while not seen:
            await asyncio.sleep(0.01)
        writer.close()
        server.close()

    asyncio.run(accept_one())
    assert listener.proto == socket.IPPROTO_TCP
    assert seen == [1]


def test_two_listeners_share_a_port_only_with_reuse_port() -> None:
    port = free_port()
    first = tcp_listener("127.0.0.1", port, reuse_port=True)
    second = tcp_listener("127.0.0.1", port, reuse_port=True)
    first.listen()
    second.listen()
    assert first.getsockname() == second.getsockname()
    with pytest.raises(OSError, match="in use"):
        tcp_listener("127.0.0.1", port)
    first.close()
    second.close()


def test_two_workers_answer_on_one_port() -> None:
    with local_server(workers=2) as base_url, httpx.Client(base_url=base_url) as client:
        answers = [client.get("/health") for _ in range(20)]
    assert {answer.status_code for answer in answers} == {200}


def test_a_bad_worker_count_is_refused_in_words(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--workers", "0"])
    assert stopped.value.code == 2
    assert "--workers: must be a whole number of at least 1, got '0'" in capsys.readouterr().err
