"""The defects an adversarial pass found in the front, each now a 4xx, a timeout or a
closed connection, while other clients keep being served; and an access log that can
neither leak a query-string key nor carry a raw control character."""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from tests.test_httpd import CHUNKED, Client

from llmrelay.httpd import Limits
from llmrelay.local.dev import Gateway

from .test_front import gateway

pytestmark = pytest.mark.e2e

ORIGIN = "http://app.example"
# Short bounds, so that a slow client is seen being cut within a test's time.
QUICK = Limits(
    idle_timeout_s=2.0,
    head_timeout_s=0.6,
    body_timeout_s=1.0,
    body_idle_timeout_s=0.5,
    send_timeout_s=2.0,
    max_chunks=16_384,
    linger_s=0.3,
)


@pytest.fixture
async def running() -> AsyncIterator[Gateway]:
    async with gateway(concurrency=2, limits=QUICK) as front:
        yield front


@pytest.fixture
def request_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level("INFO", logger="llmrelay.local")
    return caplog


@contextlib.asynccontextmanager
async def connected(front: Gateway) -> AsyncIterator[Client]:
    reader, writer = await asyncio.open_connection("127.0.0.1", front.port)
    try:
        yield Client(reader, writer)
    finally:
        writer.close()


def head(method: str, target: str, *lines: str) -> bytes:
    fields = "".join(f"{line}\r\n" for line in ("Host: t", f"Origin: {ORIGIN}", *lines))
    return f"{method} {target} HTTP/1.1\r\n{fields}\r\n".encode()


async def still_served(front: Gateway) -> None:
    """Another client, on its own connection, gets its answer at once."""
    began = time.monotonic()
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{front.url}/health", timeout=10)
    assert response.status_code == 200
    assert time.monotonic() - began < 5  # a cold start at most


async def answer(client: Client) -> tuple[int, bytes]:
    """One whole answer on a kept-alive connection: its status and body."""
    status, headers = await client.head()
    if "content-length" in headers:
        return status, await client.reader.readexactly(int(headers["content-length"]))
    body = b""
    while part := await client.chunk():
        body += part
    await client.trailers()
    return status, body


async def refused(client: Client) -> tuple[int, dict[str, str], dict[str, Any]]:
    """The status, headers and JSON error of the answer, once the connection has closed."""
    status, headers = await client.head()
    body = await client.reader.readexactly(int(headers["content-length"]))
    assert await client.closed()
    return status, headers, json.loads(body)["error"]


BAD_HEADS = [
    pytest.param(head("POST", "/chat", "Content-Length: abc"), 400, id="length-not-a-number"),
    pytest.param(head("POST", "/chat", "Content-Length: 5, 6") + b"hello", 400, id="length-5-6"),
    pytest.param(
        head("POST", "/chat", "Content-Length: 5", "Content-Length: 11") + b"hello",
        400,
        id="conflicting-lengths",
    ),
    pytest.param(
        head("POST", "/chat", "Content-Length: 5", "Transfer-Encoding: chunked") + b"0\r\n\r\n",
        400,
        id="length-and-chunked",
    ),
    pytest.param(
        head("POST", "/chat", "Transfer-Encoding: xchunked") + b"0\r\n\r\n", 501, id="xchunked"
    ),
    pytest.param(b"     \r\n\r\n", 400, id="request-line-of-spaces"),
    # RFC 9112 §2.2 lets a server take a bare LF as a line's end; this one is strict.
    pytest.param(b"GET /health HTTP/1.1\nHost: t\n\n", 400, id="bare-lf"),
    # RFC 9110 §8.6 lets a server take a list of one same length as that length, or refuse
    # it; llhttp (Node.js's parser) refuses it, and so does the front.
    pytest.param(head("POST", "/chat", "Content-Length: 5, 5") + b"hello", 400, id="length-5-5"),
    pytest.param(head("GET", "/", "X: " + "a" * 70_000), 431, id="head-over-the-limit"),
    pytest.param(
        CHUNKED.replace(b"POST /", b"POST /chat") + b"1;" + b"x" * 70_000,
        400,
        id="chunk-size-line-over-64kb",
    ),
    pytest.param(
        CHUNKED.replace(b"POST /", b"POST /chat") + b"1\r\nx\r\n0\r\nX: " + b"a" * 70_000,
        400,
        id="trailer-over-64kb",
    ),
]


@pytest.mark.parametrize(("data", "status"), BAD_HEADS)
async def test_broken_framing_is_a_json_4xx_and_the_connection_closes(
    running: Gateway, request_log: pytest.LogCaptureFixture, data: bytes, status: int
) -> None:
    smuggled = head("GET", "/smuggled")
    async with connected(running) as client:
        await client.send(data + smuggled)
        got, headers, error = await refused(client)
    assert got == status
    assert set(error) == {"code", "message", "retryable"}
    assert error["retryable"] is False
    assert "bytearray" not in error["message"]  # no raw client bytes echoed back
    assert headers["content-type"] == "application/json"
    assert headers["access-control-allow-origin"] == "*"
    assert running.pool.size == 0  # no worker ever saw it
    assert not any("/smuggled" in line for line in request_log.messages)
    assert not any(" 500 " in line for line in request_log.messages)
    await still_served(running)


async def test_an_http10_client_gets_a_body_without_chunked_framing(running: Gateway) -> None:
    async with connected(running) as client:
        await client.send(b"GET /health HTTP/1.0\r\n\r\n")
        answer = await asyncio.wait_for(client.reader.read(), 10)  # until the server closes
    head_, _, body = answer.partition(b"\r\n\r\n")
    assert head_.startswith(b"HTTP/1.1 200 ")
    assert b"transfer-encoding" not in head_.lower()
    assert json.loads(body)["status"] == "ok"


async def test_a_preflight_204_carries_no_body_framing_and_keep_alive_stays_in_step(
    running: Gateway,
) -> None:
    preflight = head("OPTIONS", "/chat", "Access-Control-Request-Method: POST")
    await still_served(running)  # the worker is warm: no cold start inside a 2 s read
    async with connected(running) as client:
        await client.send(preflight + head("GET", "/health"))
        status, headers = await client.head()
        assert status == 204
        assert "transfer-encoding" not in headers
        assert "content-length" not in headers
        assert headers["access-control-allow-origin"] == "*"
        status, headers = await client.head()  # the next answer starts right there
        assert status == 200


async def test_head_of_the_page_is_its_head_and_the_connection_goes_on(running: Gateway) -> None:
    await still_served(running)
    async with connected(running) as client:
        await client.send(head("HEAD", "/") + head("GET", "/health"))
        status, headers = await client.head()
        assert (status, headers["content-type"]) == (200, "text/html; charset=utf-8")
        status, _ = await client.head()  # no body came between the two heads
        assert status == 200


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(head("GET", "/health")[:-4], id="head-never-ends"),
        pytest.param(head("POST", "/chat", "Content-Length: 100") + b"{}", id="body-never-ends"),
        pytest.param(
            CHUNKED.replace(b"POST /", b"POST /chat") + b"2\r\n{}\r\n", id="chunks-never-end"
        ),
    ],
)
async def test_a_client_that_stops_sending_gets_a_408(running: Gateway, data: bytes) -> None:
    began = time.monotonic()
    async with connected(running) as client:
        await client.send(data)
        status, headers, error = await refused(client)
    assert (status, error["code"], error["retryable"]) == (408, "request_timeout", True)
    assert headers["access-control-allow-origin"] == "*"
    assert time.monotonic() - began < 3
    await still_served(running)


async def test_a_client_at_one_byte_a_second_is_cut_and_others_are_served(
    running: Gateway,
) -> None:
    began = time.monotonic()
    async with connected(running) as client:
        for byte in head("GET", "/health"):
            try:
                await client.send(bytes([byte]))
                answer = await asyncio.wait_for(client.reader.read(1), 0.25)
            except TimeoutError:
                continue
            except ConnectionError:
                answer = b""
            break
        assert answer == b"H"  # the start of "HTTP/1.1 408"
        assert time.monotonic() - began < 3
    await still_served(running)


async def test_an_idle_connection_is_closed(running: Gateway) -> None:
    async with connected(running) as client:
        began = time.monotonic()
        assert await asyncio.wait_for(client.reader.read(), 5) == b""
        assert 1.5 < time.monotonic() - began < 4


def _rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


async def test_one_chunk_of_300_mb_is_refused_as_it_arrives_not_buffered(
    running: Gateway,
) -> None:
    before = _rss_mb()
    async with connected(running) as client:
        await client.send(CHUNKED.replace(b"POST /", b"POST /chat") + b"%x\r\n" % (300 * 2**20))
        with contextlib.suppress(ConnectionError):
            for _ in range(8 * 16):  # 8 MB, past the 6 MB cap
                await client.send(b"z" * 65536)
        status, headers, error = await refused(client)
    assert (status, error["code"]) == (413, "payload_too_large")
    assert headers["access-control-allow-origin"] == "*"
    assert _rss_mb() - before < 40  # the 6 MB cap and a few buffers, not 300 MB
    assert running.pool.size == 0


def _flood(port: int, data: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.settimeout(10)
        with contextlib.suppress(OSError):
            connection.sendall(data)
            connection.recv(65536)


async def test_two_million_one_byte_chunks_are_refused_and_others_are_served(
    running: Gateway,
) -> None:
    flood = CHUNKED.replace(b"POST /", b"POST /chat") + b"1\r\nx\r\n" * 2_000_000
    await still_served(running)  # the worker is warm: what follows times the front alone
    sender = asyncio.create_task(asyncio.to_thread(_flood, running.port, flood))
    began = time.monotonic()
    await asyncio.sleep(0.05)
    for _ in range(3):
        await still_served(running)
    await asyncio.wait_for(sender, 30)
    # Cut at 16,384 chunks (a fraction of a second), not parsed to the end (12 s and more).
    assert time.monotonic() - began < 10


async def test_the_log_holds_no_query_string_key_and_no_raw_control_character(
    running: Gateway, request_log: pytest.LogCaptureFixture
) -> None:
    key = "sk-proj-QUERYSTRINGKEY0123456789"
    targets = [f"/v1/models?api_key={key}&limit=5", f"/chat?{key}", "/chat?q=%1b%5b2J%0d"]
    await still_served(running)
    async with connected(running) as client:
        for target in targets:
            await client.send(f"GET {target} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
            assert (await answer(client))[0] in (200, 404, 405)
    for raw in (b"/a\x1b[2J\rforged 200", b"/caf\xc3\xa9", b"/a\r\nGET /forged"):
        async with connected(running) as client:
            await client.send(b"GET " + raw + b" HTTP/1.1\r\nHost: t\r\n\r\n")
            assert (await client.head())[0] == 400
    log = "\n".join(request_log.messages)
    assert key not in log
    assert "api_key=*" in log  # the name stays, its value does not
    assert "limit=*" in log
    assert "\x1b" not in log
    assert "\r" not in log
    assert "forged" not in log
    assert "- - 400" in log  # the refused request is in the log, with its status


async def test_the_log_records_the_status_sent_and_never_answered(
    running: Gateway, request_log: pytest.LogCaptureFixture
) -> None:
    async with connected(running) as client:
        await client.send(head("POST", "/chat", "Content-Length: 1000") + b"{")
        client.writer.close()  # gone before the body is in: nothing is ever answered
    async with connected(running) as client:
        await client.send(head("POST", "/chat", "Content-Length: 100") + b"{}")
        assert (await client.head())[0] == 408
    for _ in range(50):
        if len([m for m in request_log.messages if m.startswith("POST /chat")]) >= 2:
            break
        await asyncio.sleep(0.05)
    lines = [m for m in request_log.messages if m.startswith("POST /chat")]
    assert any(line.startswith("POST /chat --- ") for line in lines), lines
    assert any(line.startswith("POST /chat 408 ") for line in lines), lines
