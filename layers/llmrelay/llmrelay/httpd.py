"""A small asyncio HTTP/1.1 server: keep-alive, chunked bodies both ways, trailers.

It is the one HTTP server of llmrelay: the local emulator (function URL front and Runtime
API), the fake upstreams of :mod:`llmrelay.testing` and the tests' fake Runtime API all
build on it, because each needs what generic frameworks hide: byte-exact control of the
wire (chunk boundaries, trailers, a cut connection) and streaming in both directions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["BodyTooLarge", "Handler", "Request", "ResponseWriter", "serve"]

_MAX_HEADER_BYTES = 64 * 1024
_log = logging.getLogger(__name__)
_REASONS = {
    200: "OK", 202: "Accepted", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
    409: "Conflict", 413: "Payload Too Large", 422: "Unprocessable Entity",
    429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout", 529: "Overloaded",
}  # fmt: skip


class BodyTooLarge(Exception):
    """The request body is over the limit given to :meth:`Request.read_body`."""


class _MalformedBody(ValueError):
    """The client's body framing is broken (the server answers 400)."""


# Plain digits only: int() alone would also take "+5", "1_0" or "0x5".
_DIGITS = {10: re.compile(r"[0-9]{1,18}"), 16: re.compile(r"[0-9A-Fa-f]{1,16}")}


def _length(value: str, base: int = 10) -> int:
    """A Content-Length (base 10) or chunk size (base 16)."""
    if not _DIGITS[base].fullmatch(value):
        raise _MalformedBody(f"bad length {value[:20]!r}")
    return int(value, base)


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]
    reader: asyncio.StreamReader = field(repr=False)
    trailers: dict[str, str] = field(default_factory=dict)
    version: str = "HTTP/1.1"
    _consumed: bool = field(default=False, repr=False)
    _complete: bool = field(default=False, repr=False)

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> str:
        return urlsplit(self.target).query

    @property
    def chunked(self) -> bool:
        return "chunked" in self.headers.get("transfer-encoding", "").lower()

    @property
    def keep_alive(self) -> bool:
        """Whether the client lets this connection carry another request."""
        tokens = {t.strip() for t in self.headers.get("connection", "").lower().split(",")}
        if self.version.upper() == "HTTP/1.0":
            return "keep-alive" in tokens
        return "close" not in tokens

    async def iter_body(self) -> AsyncIterator[bytes]:
        """The body as it arrives (one item per chunk when chunked); trailers land in
        :attr:`trailers` once the last chunk is read."""
        if self._consumed:
            return
        self._consumed = True
        if not self.chunked:
            remaining = _length(self.headers.get("content-length", "0") or "0")
            while remaining > 0:
                data = await self.reader.read(min(remaining, 65536))
                if not data:
                    raise asyncio.IncompleteReadError(b"", remaining)
                remaining -= len(data)
                yield data
            self._complete = True
            return
        while True:
            size_line = await self.reader.readuntil(b"\r\n")
            size = _length(size_line.split(b";", 1)[0].strip().decode("latin-1"), 16)
            if size == 0:
                break
            data = await self.reader.readexactly(size)
            if await self.reader.readexactly(2) != b"\r\n":
                raise _MalformedBody("chunk not followed by CRLF")
            yield data
        while (line := await self.reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            self.trailers[name.strip().lower()] = value.strip()
        self._complete = True

    async def read_body(self, limit: int | None = None) -> bytes:
        parts: list[bytes] = []
        size = 0
        declared = _length(self.headers.get("content-length", "0") or "0")
        if limit is not None and declared > limit:
            self._consumed = True  # left unread: the connection cannot carry another request
            raise BodyTooLarge(declared)
        async for part in self.iter_body():
            size += len(part)
            if limit is not None and size > limit:
                raise BodyTooLarge(size)
            parts.append(part)
        return b"".join(parts)


def _head(status: int, headers: list[tuple[str, str]] | None, *, chunked: bool) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
    lines += [f"{name}: {value}" for name, value in headers or []]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class ResponseWriter:
    """Writes one response: :meth:`send` whole, or :meth:`start` / :meth:`write` / :meth:`end`
    chunked (each :meth:`write` is flushed to the socket at once)."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self.started = False
        self.finished = False
        self.keep_alive = True

    async def start(
        self,
        status: int,
        headers: list[tuple[str, str]] | None = None,
        *,
        chunked: bool = True,
        first: bytes = b"",
    ) -> None:
        """Send the head; with ``first``, the body's first bytes in the same write (one
        system call, one wake-up of the reader)."""
        head = _head(status, headers, chunked=chunked)
        self._writer.write(head + _chunk(first) if chunked and first else head + first)
        self.started = True
        await self._writer.drain()

    async def write(self, data: bytes) -> None:
        if data:
            self._writer.write(_chunk(data))
            await self._writer.drain()

    async def write_raw(self, data: bytes) -> None:
        """Bytes exactly as given (fakes use it to send malformed framing)."""
        self._writer.write(data)
        await self._writer.drain()

    async def end(self, trailers: dict[str, str] | None = None) -> None:
        tail = "".join(f"{k}: {v}\r\n" for k, v in (trailers or {}).items())
        self._writer.write(b"0\r\n" + tail.encode("latin-1") + b"\r\n")
        self.finished = True
        await self._writer.drain()

    async def send(
        self, status: int, body: bytes = b"", headers: list[tuple[str, str]] | None = None
    ) -> None:
        length = ("Content-Length", str(len(body)))
        # One write, so one system call (and one wake-up of the reader) per response.
        self._writer.write(_head(status, [*(headers or []), length], chunked=False) + body)
        self.started = self.finished = True
        await self._writer.drain()

    def abort(self) -> None:
        """Cut the connection now, mid-response if need be."""
        self.keep_alive = False
        self.finished = True
        transport = self._writer.transport
        with contextlib.suppress(Exception):
            transport.abort()


Handler = Callable[[Request, ResponseWriter], Awaitable[None]]


async def _read_head(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    except asyncio.LimitOverrunError:
        raise ValueError("request head too large") from None
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, target, version = request_line.split(" ", 2)
    headers: dict[str, str] = {}
    for line in header_lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return Request(method.upper(), target, headers, reader, version=version.strip())


async def _fail(response: ResponseWriter, status: int, body: bytes) -> None:
    """Answer ``status`` if nothing went out yet, else cut the half-sent response."""
    if response.started:
        response.abort()
    else:
        await response.send(status, body, [("Connection", "close")])


async def _run(handler: Handler, request: Request, response: ResponseWriter) -> bool:
    """Run ``handler`` for one request; ``False`` when the connection must close."""
    try:
        await handler(request, response)
    except (ConnectionError, asyncio.IncompleteReadError):
        raise
    except BodyTooLarge:
        await _fail(response, 413, b"request body too large")
        return False
    except _MalformedBody:
        await _fail(response, 400, b"malformed request body")
        return False
    except Exception:
        _log.exception("handler failed on %s %s", request.method, request.path)
        await _fail(response, 500, b"internal error")
        return False
    if not response.finished:
        response.abort()
    return response.keep_alive and request.keep_alive


async def _drained(request: Request) -> bool:
    """Read what the handler left of the body, so the next request on this connection
    parses; ``False`` when the position in the stream is lost (a body read part way)."""
    if request._complete:
        return True
    if request._consumed:
        return False
    async for _ in request.iter_body():
        pass
    return True


async def _connection(
    handler: Handler, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        while True:
            try:
                request = await _read_head(reader)
            except ValueError:
                await _fail(ResponseWriter(writer), 400, b"bad request head")
                return
            if request is None:
                return
            if not await _run(handler, request, ResponseWriter(writer)):
                return
            if not await _drained(request):
                return
    except (ConnectionError, asyncio.IncompleteReadError):
        return
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def serve(handler: Handler, host: str = "127.0.0.1", port: int = 0) -> asyncio.Server:
    """Start serving ``handler`` on ``host:port`` (0 picks a free port)."""

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A connection task cancelled at shutdown ends quietly (asyncio would log it).
        with contextlib.suppress(asyncio.CancelledError):
            await _connection(handler, reader, writer)

    return await asyncio.start_server(on_connect, host, port, limit=_MAX_HEADER_BYTES)
