"""The small HTTP/1.1 server, driven byte by byte over real loopback sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field

import pytest

from llmrelay.httpd import BodyTooLarge, Handler, Limits, Request, ResponseWriter, serve


@dataclass
class Seen:
    """What the handlers saw, for assertions."""

    paths: list[str] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    chunks: list[list[bytes]] = field(default_factory=list)
    trailers: list[dict[str, str]] = field(default_factory=list)


class Client:
    """A raw HTTP/1.1 client on one connection: writes bytes, reads exactly what comes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def head(self) -> tuple[int, dict[str, str]]:
        raw = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 2)
        status_line, *lines = raw.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        return int(status_line.split(" ")[1]), headers

    async def chunk(self) -> bytes:
        """One chunk's data; ``b""`` for the last chunk (then read :meth:`trailers`)."""
        size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
        if size == 0:
            return b""
        data = await self.reader.readexactly(size + 2)
        assert data.endswith(b"\r\n")
        return data[:-2]

    async def trailers(self) -> dict[str, str]:
        found = {}
        while (line := await self.reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            found[name.strip().lower()] = value.strip()
        return found

    async def response(self) -> tuple[int, bytes]:
        status, headers = await self.head()
        body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return status, body

    async def closed(self) -> bool:
        """Whether the server closes the connection (EOF) without sending anything more."""
        return await asyncio.wait_for(self.reader.read(1), 2) == b""


Connect = Callable[[], AbstractAsyncContextManager[Client]]


@asynccontextmanager
async def running(handler: Handler, limits: Limits | None = None) -> AsyncIterator[Connect]:
    server = await serve(handler, limits=limits)
    port = server.sockets[0].getsockname()[1]
    clients: list[asyncio.StreamWriter] = []

    @asynccontextmanager
    async def connect() -> AsyncIterator[Client]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        clients.append(writer)
        yield Client(reader, writer)

    try:
        yield connect
    finally:
        for writer in clients:
            writer.close()
        server.close()


CHUNKED = b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"


def request(path: str = "/", body: bytes = b"", *, extra: str = "") -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


def echo_handler(seen: Seen, limit: int | None = None) -> Handler:
    async def handle(request: Request, response: ResponseWriter) -> None:
        seen.paths.append(request.path)
        body = await request.read_body(limit)
        seen.bodies.append(body)
        seen.trailers.append(dict(request.trailers))
        await response.send(200, b"got:" + body, [("Content-Type", "text/plain")])

    return handle


async def ignore_body(request: Request, response: ResponseWriter) -> None:
    await response.send(204)


async def test_one_connection_carries_several_requests() -> None:
    seen = Seen()
    async with running(echo_handler(seen)) as connect, connect() as client:
        await client.send(request("/one", b"first"))
        assert await client.response() == (200, b"got:first")
        await client.send(request("/two?x=1", b"second"))
        assert await client.response() == (200, b"got:second")
    assert seen.paths == ["/one", "/two"]


async def test_pipelined_requests_are_answered_in_order() -> None:
    seen = Seen()
    async with running(echo_handler(seen)) as connect, connect() as client:
        await client.send(request("/a", b"1") + request("/b", b"22"))
        assert await client.response() == (200, b"got:1")
        assert await client.response() == (200, b"got:22")


async def test_an_unread_body_is_skipped_before_the_next_request() -> None:
    async with running(ignore_body) as connect, connect() as client:
        await client.send(request("/", b"x" * 5000) + request("/", b"y"))
        assert (await client.response())[0] == 204
        assert (await client.response())[0] == 204


@pytest.mark.parametrize(
    ("version", "connection"),
    [
        pytest.param("HTTP/1.1", "close", id="http11-close"),
        pytest.param("HTTP/1.1", "Close", id="http11-close-any-case"),
        pytest.param("HTTP/1.1", "TE, close", id="http11-close-among-tokens"),
        pytest.param("HTTP/1.0", "", id="http10-default"),
    ],
)
async def test_the_server_closes_when_the_client_asks(version: str, connection: str) -> None:
    header = f"Connection: {connection}\r\n" if connection else ""
    async with running(ignore_body) as connect, connect() as client:
        await client.send(f"GET / {version}\r\nHost: t\r\n{header}\r\n".encode())
        assert (await client.response())[0] == 204
        assert await client.closed()


async def test_an_http10_client_is_answered_and_the_connection_closes() -> None:
    # h11 keeps no HTTP/1.0 connection alive, "Connection: keep-alive" or not.
    async with running(ignore_body) as connect, connect() as client:
        await client.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        assert (await client.response())[0] == 204
        assert await client.closed()


async def test_a_chunked_request_arrives_chunk_by_chunk_with_its_trailers() -> None:
    seen = Seen()

    async def handle(request: Request, response: ResponseWriter) -> None:
        seen.chunks.append([part async for part in request.iter_body()])
        seen.trailers.append(dict(request.trailers))
        await response.send(200)

    body = b"5\r\nhello\r\n6;name=ext\r\n world\r\nA\r\n\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9!!\r\n0\r\n"
    trailers = b"X-Checksum: abc123\r\nLambda-Runtime-Function-Error-Type: Runtime.X\r\n\r\n"
    head = (
        b"POST /r HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
    )
    async with running(handle) as connect, connect() as client:
        await client.send(head + body + trailers)
        assert (await client.response())[0] == 200
        await client.send(request("/after"))  # the connection is still in step
        assert (await client.response())[0] == 200
    assert seen.chunks[0] == [b"hello", b" world", "éééé!!".encode()]
    assert seen.trailers[0] == {
        "x-checksum": "abc123",
        "lambda-runtime-function-error-type": "Runtime.X",
    }


async def test_read_body_joins_a_chunked_body() -> None:
    seen = Seen()
    async with running(echo_handler(seen)) as connect, connect() as client:
        await client.send(CHUNKED + b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
        assert await client.response() == (200, b"got:abcde")


async def test_a_streamed_response_reaches_the_client_before_it_ends() -> None:
    first_read = asyncio.Event()

    async def handle(request: Request, response: ResponseWriter) -> None:
        await response.start(200, [("Content-Type", "text/event-stream")])
        await response.write(b"data: one\n\n")
        await asyncio.wait_for(first_read.wait(), 2)  # only once the client has it
        await response.write(b"data: two\n\n")
        await response.write(b"")  # nothing: must not end the body early
        await response.end({"X-Status": "done"})

    async with running(handle) as connect, connect() as client:
        await client.send(b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
        status, headers = await client.head()
        assert (status, headers["transfer-encoding"]) == (200, "chunked")
        assert await client.chunk() == b"data: one\n\n"
        first_read.set()
        assert await client.chunk() == b"data: two\n\n"
        assert await client.chunk() == b""
        assert await client.trailers() == {"x-status": "done"}


async def test_the_first_body_bytes_can_go_out_with_the_head() -> None:
    async def handle(request: Request, response: ResponseWriter) -> None:
        await response.start(200, [("Content-Type", "text/plain")], first=b"one")
        await response.write(b"two")
        await response.end()

    async with running(handle) as connect, connect() as client:
        await client.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        status, headers = await client.head()
        assert (status, headers["transfer-encoding"]) == (200, "chunked")
        assert [await client.chunk() for _ in range(3)] == [b"one", b"two", b""]


async def test_abort_cuts_the_connection_mid_response() -> None:
    async def handle(request: Request, response: ResponseWriter) -> None:
        await response.start(200)
        await response.write(b"partial")
        response.abort()

    async with running(handle) as connect, connect() as client:
        await client.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        await client.head()
        assert await client.chunk() == b"partial"
        assert await client.closed()  # no terminating zero-size chunk


async def test_a_handler_that_forgets_to_finish_is_cut_not_left_hanging() -> None:
    async def handle(request: Request, response: ResponseWriter) -> None:
        await response.start(200)
        await response.write(b"half")

    async with running(handle) as connect, connect() as client:
        await client.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        await client.head()
        assert await client.chunk() == b"half"
        assert await client.closed()


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(b"GARBAGE\r\n\r\n", id="one-word"),
        pytest.param(b"GET /\r\n\r\n", id="no-version"),
        pytest.param(b"     \r\n\r\n", id="spaces"),
        pytest.param(b"GET /a\x1b[2J HTTP/1.1\r\nHost: t\r\n\r\n", id="control-in-target"),
        pytest.param(b"GET / HTTP/1.1\r\n\r\n", id="http11-without-host"),
        pytest.param(b"GET / HTTP/1.1\r\nHost: t\r\nX: a\x00b\r\n\r\n", id="nul-in-header"),
        pytest.param(request("/", b"hello", extra="Content-Length: 6\r\n"), id="two-lengths"),
        pytest.param(
            request("/", b"0\r\n\r\n", extra="Transfer-Encoding: chunked\r\n"),
            id="length-and-chunked",
        ),
    ],
)
async def test_a_bad_request_head_gets_400_and_the_connection_closes(head: bytes) -> None:
    seen = Seen()
    async with running(echo_handler(seen)) as connect, connect() as client:
        await client.send(head + request("/smuggled"))
        assert (await client.response())[0] == 400
        assert await client.closed()
    assert seen.paths == []


@pytest.mark.parametrize(
    ("head", "status"),
    [
        pytest.param(
            b"GET / HTTP/1.1\r\nHost: t\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", 431, id="431"
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: xchunked\r\n\r\n", 501, id="xchunked"
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            501,
            id="gzip-chunked",
        ),
    ],
)
async def test_a_head_the_server_cannot_take_gets_its_status(head: bytes, status: int) -> None:
    seen = Seen()
    async with running(echo_handler(seen)) as connect, connect() as client:
        await client.send(head)
        assert (await client.response())[0] == status
        assert await client.closed()
    assert seen.paths == []


async def leave_then_reconnect(partial: bytes, body: bytes, answer: tuple[int, bytes]) -> Seen:
    """One client sends ``partial`` and leaves; a second sends ``body`` and gets ``answer``."""
    seen = Seen()
    async with running(echo_handler(seen)) as connect:
        async with connect() as client:
            await client.send(partial)
            client.writer.close()
        async with connect() as client:  # the server still serves
            await client.send(request("/", body))
            assert await client.response() == answer
    return seen


async def test_a_client_that_leaves_mid_head_is_no_error() -> None:
    seen = await leave_then_reconnect(b"GET / HTTP/1.1\r\nHost:", b"ok", (200, b"got:ok"))
    assert seen.bodies == [b"ok"]


async def test_a_handler_can_answer_413_for_a_body_over_the_limit() -> None:
    async def handle(request: Request, response: ResponseWriter) -> None:
        try:
            await request.read_body(limit=10)
        except BodyTooLarge:
            await response.send(413, b"too big")
            return
        await response.send(200)

    async with running(handle) as connect, connect() as client:
        await client.send(request("/", b"0123456789"))
        assert (await client.response())[0] == 200
        await client.send(request("/", b"0123456789A"))
        assert await client.response() == (413, b"too big")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(request("/", b"x" * 11), id="declared-length"),
        pytest.param(
            CHUNKED + b"6\r\nxxxxxx\r\n6\r\nxxxxxx\r\n0\r\n\r\n",
            id="chunked-over-limit",
        ),
    ],
)
async def test_an_uncaught_body_too_large_is_413_and_closes_the_connection(data: bytes) -> None:
    # The rest of the body is unread: parsing it as the next request would be an injection.
    seen = Seen()
    async with running(echo_handler(seen, limit=10)) as connect, connect() as client:
        await client.send(data + request("/smuggled", b""))
        assert (await client.response())[0] == 413
        assert await client.closed()
    assert seen.paths == ["/"]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: ten\r\n\r\n", id="length-not-a-number"
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", id="length-negative"
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +3\r\n\r\nabc", id="length-signed"
        ),
        pytest.param(
            CHUNKED + b"zz\r\nab\r\n0\r\n\r\n",
            id="chunk-size-not-hex",
        ),
        pytest.param(
            CHUNKED + b"0x2\r\nab\r\n0\r\n\r\n",
            id="chunk-size-with-prefix",
        ),
        pytest.param(
            CHUNKED + b"2\r\nabcd\r\n0\r\n\r\n",
            id="chunk-longer-than-its-size",
        ),
        pytest.param(
            CHUNKED + b"1;" + b"x" * 70_000,
            id="chunk-size-line-too-long",
        ),
        pytest.param(
            CHUNKED + b"0\r\nX: " + b"x" * 70_000,
            id="trailer-too-long",
        ),
    ],
)
async def test_a_malformed_body_gets_400_and_the_connection_closes(data: bytes) -> None:
    seen = Seen()
    async with running(echo_handler(seen)) as connect, connect() as client:
        await client.send(data)
        status, body = await client.response()
        assert status == 400
        assert b"bytearray" not in body  # h11's words, not the client's bytes echoed
        assert await client.closed()
    assert seen.bodies == []


async def test_a_client_that_leaves_mid_body_is_no_error() -> None:
    partial = b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly part"
    seen = await leave_then_reconnect(partial, b"whole", (200, b"got:whole"))
    assert seen.bodies == [b"whole"]


async def test_the_body_can_be_read_only_once() -> None:
    bodies: list[bytes] = []

    async def handle(request: Request, response: ResponseWriter) -> None:
        bodies.extend([await request.read_body(), await request.read_body()])
        await response.send(204)

    async with running(handle) as connect, connect() as client:
        await client.send(request("/", b"once"))
        assert (await client.response())[0] == 204
    assert bodies == [b"once", b""]


async def test_write_raw_sends_bytes_exactly_as_given() -> None:
    async def handle(request: Request, response: ResponseWriter) -> None:
        await response.start(200)
        await response.write_raw(b"zz\r\nnot a chunk")
        response.abort()

    async with running(handle) as connect, connect() as client:
        await client.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        await client.head()
        assert await client.reader.read() == b"zz\r\nnot a chunk"


async def test_a_body_read_part_way_ends_the_connection() -> None:
    async def handle(request: Request, response: ResponseWriter) -> None:
        async for _ in request.iter_body():
            break
        await response.send(200)

    chunked = CHUNKED + b"1\r\na\r\n1\r\nb\r\n0\r\n\r\n"
    async with running(handle) as connect, connect() as client:
        await client.send(chunked + request("/next"))
        assert (await client.response())[0] == 200
        assert await client.closed()


async def test_a_failing_handler_gets_500_and_the_server_keeps_serving() -> None:
    async def handle(request: Request, response: ResponseWriter) -> None:
        if request.path == "/boom":
            raise RuntimeError("handler bug")
        await response.send(200, b"fine")

    async with running(handle) as connect:
        async with connect() as client:
            await client.send(request("/boom"))
            assert (await client.response())[0] == 500
            assert await client.closed()
        async with connect() as client:
            await client.send(request("/"))
            assert await client.response() == (200, b"fine")


async def test_a_handler_failing_mid_stream_cuts_the_response() -> None:
    async def handle(request: Request, response: ResponseWriter) -> None:
        await response.start(200)
        await response.write(b"some")
        raise RuntimeError("late bug")

    async with running(handle) as connect, connect() as client:
        await client.send(request("/"))
        await client.head()
        assert await client.chunk() == b"some"
        assert await client.closed()


async def test_request_splits_path_and_query() -> None:
    req = Request("GET", "/v1/models?limit=5&x=y", {})
    assert (req.path, req.query) == ("/v1/models", "limit=5&x=y")
