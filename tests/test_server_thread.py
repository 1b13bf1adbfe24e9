"""ServerThread: an httpd server on its own loop in a thread, for synchronous tests and tools."""

from __future__ import annotations

import http.client
import socket
import time

import pytest

from llmrelay.httpd import Request, ResponseWriter
from llmrelay.server_thread import ServerThread


async def hello(request: Request, response: ResponseWriter) -> None:
    body = await request.read_body()
    await response.send(200, b"hello " + body, [("Content-Type", "text/plain")])


def get(url_port: int, path: str = "/", body: bytes = b"") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", url_port, timeout=2)
    try:
        conn.request("POST", path, body=body)
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


def test_server_thread_serves_blocking_clients_and_stops_cleanly() -> None:
    with ServerThread(hello) as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert get(server.port, body=b"you") == (200, b"hello you")
        port, thread = server.port, server._thread
    assert not thread.is_alive()
    assert server.loop.is_closed()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_server_thread_stops_quickly_with_a_client_still_connected() -> None:
    server = ServerThread(hello).start()
    idle = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
    idle.request("POST", "/", body=b"keep me")
    assert idle.getresponse().read() == b"hello keep me"  # the connection stays open
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 0.9
    idle.close()


def test_server_thread_reports_a_taken_port_and_leaves_no_thread() -> None:
    with ServerThread(hello) as first:
        second = ServerThread(hello, port=first.port)
        with pytest.raises(OSError, match="in use"):
            second.start()
        assert not second._thread.is_alive()
        assert second.loop.is_closed()


def test_server_thread_port_needs_a_started_server() -> None:
    server = ServerThread(hello)
    with pytest.raises(AssertionError):
        _ = server.port
    server.stop()
    assert server.loop.is_closed()
