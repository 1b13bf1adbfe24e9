"""One client connection: httptools' parser fed from an asyncio stream, every wait bounded.

httptools (llhttp, the parser of Node.js) does the parsing: the request line, headers,
lengths, chunks, trailers, HTTP/1.0 and pipelining. It is a push parser: what it is fed
comes out as callbacks, which :class:`_Events` turns into a queue of events (a head, body
bytes, the end) that whoever needs the next one pulls. The socket is read only when that
queue is empty, so a client that sends more than the server asks for is held back by TCP,
never buffered here. This module moves bytes, keeps the queue and enforces :class:`Limits`;
:mod:`llmrelay.httpd.messages` frames the answers.

Why not h11, which the server ran on before: its pure-Python parse of a request costs
about 30 µs a message in a warm loop, and three to four times that in a process woken from
idle, on every hop of the local emulator's path to a first byte (the client's request, the
runtime's ``/response``). llhttp parses the same in under 2 µs.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from httptools.parser.errors import HttpParserCallbackError, HttpParserError, HttpParserUpgrade
from httptools.parser.parser import HttpRequestParser

from llmrelay.httpd.errors import BadRequest, BodyTooLarge, HttpError, Limits, RequestTimeout

__all__ = ["Head", "Wire"]

_READ_BYTES = 64 * 1024
# A read is fed in slices this long: a slice in which no callback fired counts whole
# towards the bytes of an unfinished head, chunk-size line or trailer (see _Events.stalled).
_SLICE = 2048
_YIELD_EVERY = 256  # reads, or body pieces, between two turns of the loop for other clients
_ANY_VERSION = ("1.0", "1.1")


@dataclass(slots=True)
class Head:
    """A request's line and headers (names in lower case, as sent otherwise)."""

    method: str
    target: str
    headers: list[tuple[bytes, bytes]]
    version: str  # "1.1" or "1.0"
    keep_alive: bool  # what the client asked for (HTTP/1.1 without ``Connection: close``)
    expects_continue: bool = False


@dataclass(slots=True)
class _Data:
    data: bytearray
    chunks: int  # 1 when it begins a chunk (of a chunked body)


@dataclass(slots=True)
class _End:
    trailers: list[tuple[bytes, bytes]] = field(default_factory=list)


class _Closed:
    """The client closed the connection (between requests: the end; within one: a cut)."""


_Event = Head | _Data | _End | HttpError | _Closed


class _Events:
    """httptools' callbacks → events, and the sizes the limits need."""

    def __init__(self, head_bytes: int) -> None:
        self.queue: deque[_Event] = deque()
        self.head_bytes = head_bytes
        self.parser = HttpRequestParser(self)
        # Lines end in CRLF, strictly (a bare LF is a 400, as in Node.js; RFC 9112 §2.2 lets
        # a server take it, and llhttp does not for the request line). One leniency: a
        # Transfer-Encoding llhttp would refuse reaches the head's checks, which answer it
        # 501 (the request is refused either way: its body is never read).
        lenient = self.parser.set_dangerous_leniencies  # type: ignore[attr-defined]  # (not in its stubs)
        lenient(lenient_transfer_encoding=True)
        self.in_message = False  # a message began and has not ended
        self.in_body = False  # its head is complete, its end not yet
        self.progress = False  # some callback fired since the last slice was fed
        self.stalled = 0  # bytes fed since the last callback
        self.upgraded = False  # the parser stopped at an Upgrade (what follows is not HTTP)
        self._url = bytearray()
        self._headers: list[tuple[bytes, bytes]] = []
        self._size = 0
        self._new_chunk = False

    def feed(self, data: bytes) -> None:
        """Parse ``data``; a framing error or a bound crossed becomes an event."""
        for start in range(0, len(data), _SLICE):
            piece = data[start : start + _SLICE] if len(data) > _SLICE else data
            self.progress = False
            try:
                self.parser.feed_data(piece)
            except HttpParserUpgrade:
                self.upgraded = True
                self._end([])
                return
            except HttpParserCallbackError as exc:
                cause = exc.__context__
                self.queue.append(cause if isinstance(cause, HttpError) else BadRequest(str(exc)))
                return
            except HttpParserError as exc:
                self.queue.append(BadRequest(_message(exc)))
                return
            self.stalled = 0 if self.progress else self.stalled + len(piece)
            if self.stalled > self.head_bytes:
                if self.in_body:
                    self.queue.append(BadRequest("a chunk-size line or the trailers are too long"))
                else:
                    self.queue.append(HttpError("the request head is too long", 431))
                return

    # -- httptools' callbacks ------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.progress = self.in_message = True
        self._url.clear()
        self._headers = []
        self._size = 0

    def on_url(self, url: bytes) -> None:
        self.progress = True
        self._url += url
        self._grow(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self.progress = True
        self._headers.append((name.lower(), value))
        self._grow(len(name) + len(value) + 4)

    def on_headers_complete(self) -> None:
        self.progress = self.in_body = True
        parser = self.parser
        version = parser.get_http_version()
        headers, self._headers = self._headers, []
        self._size = 0
        keep_alive = parser.should_keep_alive()
        self.queue.append(
            _head(parser.get_method(), bytes(self._url), headers, version, keep_alive)
        )

    def on_chunk_header(self) -> None:
        self.progress = self._new_chunk = True

    def on_body(self, body: bytes) -> None:
        self.progress = True
        queue = self.queue
        last = queue[-1] if queue else None
        if self._new_chunk or not isinstance(last, _Data):  # a chunk's bytes stay one piece
            queue.append(_Data(bytearray(body), 1 if self._new_chunk else 0))
            self._new_chunk = False
        else:
            last.data += body

    def on_chunk_complete(self) -> None:
        self.progress = True

    def on_message_complete(self) -> None:
        self.progress = True
        self._end(self._headers)  # (after a chunked body, its trailers)

    def _end(self, trailers: list[tuple[bytes, bytes]]) -> None:
        self.in_message = self.in_body = False
        self._headers = []
        self._size = 0
        self.queue.append(_End(trailers))

    def _grow(self, size: int) -> None:
        self._size += size
        if self._size > self.head_bytes:
            if self.in_body:
                raise BadRequest("the trailers are too long")
            raise HttpError("the request head is too long", 431)


def _message(error: HttpParserError) -> str:
    # llhttp's reason, which never quotes the client's bytes ("Invalid header token").
    return str(error).strip() or "malformed request"


def _head(
    method: bytes,
    target: bytes,
    headers: list[tuple[bytes, bytes]],
    version: str,
    keep_alive: bool,
) -> Head | HttpError:
    """The head, or why it is refused: what llhttp lets through and h11 did not."""
    if version not in _ANY_VERSION:
        return BadRequest("the request line needs HTTP/1.0 or HTTP/1.1")
    names = [name for name, _ in headers]
    if version == "1.1" and names.count(b"host") != 1:
        return BadRequest("an HTTP/1.1 request needs exactly one Host header")
    # (Transfer-Encoding with Content-Length, RFC 9112 §6.3's smuggling case, never gets
    # here: llhttp refuses it.)
    if b"transfer-encoding" in names:
        codings = b",".join(value for name, value in headers if name == b"transfer-encoding")
        if [c.strip().lower() for c in codings.decode("latin-1").split(",")] != ["chunked"]:
            return HttpError("only Transfer-Encoding: chunked is supported", 501)
    expects = any(
        name == b"expect" and value.strip().lower() == b"100-continue" for name, value in headers
    )
    return Head(
        method.decode("ascii"),
        target.decode("latin-1"),
        headers,
        version,
        keep_alive and version == "1.1",
        expects_continue=expects and version == "1.1",
    )


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + timeout


def _soonest(*timeouts: float | None) -> float | None:
    given = [t for t in timeouts if t is not None]
    return min(given) if given else None


class Wire:
    """The parser of one socket and its writer (see the module's docstring)."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, limits: Limits
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.limits = limits
        self._events = _Events(limits.head_bytes)
        self.head: Head | None = None  # the request being answered
        self.request_done = False  # its end was read (its body, whole)
        self.response_done = False  # its answer went out whole
        self.raw = False  # bytes went out that the server did not frame
        self.linger = False  # closing on a refused request: the client may still be sending
        self.broken = False  # the stream of requests cannot go on (an error, a cut, close)
        self._reads = 0

    # -- reading -------------------------------------------------------------------------------

    async def _receive(self, within_s: float | None, why: str) -> None:
        try:
            if within_s is None:  # (a timeout context costs a timer handle per read)
                data = await self.reader.read(_READ_BYTES)
            else:
                async with asyncio.timeout(within_s):
                    data = await self.reader.read(_READ_BYTES)
        except TimeoutError:
            raise RequestTimeout(why) from None
        except ConnectionError:
            data = b""
        self._reads += 1
        if self._reads % _YIELD_EVERY == 0:
            await asyncio.sleep(0)  # a flood of reads must not starve the other clients
        if not data:
            self._events.queue.append(_Closed())
        else:
            self._events.feed(data)

    def _next(self) -> _Event | None:
        queue = self._events.queue
        if not queue:
            return None
        event = queue.popleft()
        if isinstance(event, HttpError | _Closed):
            self.broken = True
            queue.clear()
            queue.append(event)  # it stays: nothing after it can be read
        return event

    async def next_request(self) -> Head | None:
        """The next request's head; ``None`` when the client closed, or sent nothing of a
        next request for ``idle_timeout_s``. Once its first byte is in, the head must be
        complete within ``head_timeout_s`` (else 408)."""
        events = self._events
        deadline: float | None = None
        while True:
            event = self._next()
            if isinstance(event, Head):
                self.head, self.request_done, self.response_done = event, False, False
                return event
            if isinstance(event, HttpError):
                raise event
            if isinstance(event, _Closed):
                if events.in_message:
                    raise ConnectionResetError("the client closed the connection mid-request")
                return None
            if events.upgraded:
                return None  # what follows an Upgrade is not a request
            if events.in_message or events.stalled:  # the head has begun
                if deadline is None:
                    deadline = _deadline(self.limits.head_timeout_s)
                await self._receive(_remaining(deadline), "the request head took too long")
                continue
            try:
                await self._receive(self.limits.idle_timeout_s, "idle")
            except RequestTimeout:
                return None  # an idle keep-alive connection ends quietly, as servers do

    @property
    def waiting_for_continue(self) -> bool:
        """The client waits for ``100 Continue`` before it sends the body."""
        head = self.head
        return (
            head is not None
            and head.expects_continue
            and not self.response_done
            and not self.request_done
            and not self._events.queue
        )

    async def body(self, on_trailers: dict[str, str]) -> AsyncIterator[bytes]:
        """The body's pieces as they arrive; trailers land in ``on_trailers``. A client that
        waits for ``100 Continue`` gets it now, when the body is wanted."""
        if self.request_done:
            return
        limits = self.limits
        if self.waiting_for_continue:
            assert self.head is not None
            self.head.expects_continue = False
            await self.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        deadline = _deadline(limits.body_timeout_s)
        chunks = pieces = 0
        while True:
            event = self._next()
            pieces += 1
            if pieces % _YIELD_EVERY == 0:
                await asyncio.sleep(0)  # tiny chunks must not starve the other clients
            if event is None:
                timeout = _soonest(_remaining(deadline), limits.body_idle_timeout_s)
                await self._receive(timeout, "the request body took too long")
                continue
            if isinstance(event, _Data):
                chunks += event.chunks
                if limits.max_chunks is not None and chunks > limits.max_chunks:
                    self.broken = True
                    raise BodyTooLarge(f"the body is split into over {limits.max_chunks} chunks")
                yield bytes(event.data)
            elif isinstance(event, _End):
                self.request_done = True
                for name, value in event.trailers:
                    on_trailers[name.decode("latin-1")] = value.decode("latin-1")
                return
            elif isinstance(event, HttpError):
                if event.status == 431:  # a head's limit, met inside a body: its framing
                    raise BadRequest(event.message)
                raise event
            elif isinstance(event, _Closed):
                raise ConnectionResetError("the client closed the connection mid-request")
            else:  # pragma: no cover - a head comes only after an end
                raise BadRequest("a request head inside a body")

    async def skip_body(self, budget: int) -> bool:
        """Read and drop the rest of an unread body, up to ``budget`` bytes; ``False`` when
        it is longer (the connection must close)."""
        size = 0
        async for part in self.body({}):
            size += len(part)
            if size > budget:
                return False
        return True

    # -- writing -------------------------------------------------------------------------------

    async def write(self, data: bytes) -> None:
        """Send ``data``, within ``send_timeout_s``."""
        writer = self.writer
        writer.write(data)
        transport = writer.transport
        if not transport.get_write_buffer_size() and not transport.is_closing():
            return  # all of it went to the socket: nothing to wait for (the usual case)
        try:
            async with asyncio.timeout(self.limits.send_timeout_s):
                await self.writer.drain()
        except TimeoutError:
            self.abort()
            raise ConnectionResetError("the client reads nothing of the answer") from None

    def abort(self) -> None:
        self.broken = True
        with contextlib.suppress(Exception):
            self.writer.transport.abort()

    # -- between requests, and the end ---------------------------------------------------------

    def next_cycle(self) -> bool:
        """Ready for the next request on this connection, or ``False`` (it must close)."""
        head = self.head
        if self.broken or head is None or not head.keep_alive or self._events.upgraded:
            return False
        if not (self.request_done and (self.response_done or self.raw)):
            return False
        self.head, self.raw = None, False
        return True

    async def close(self) -> None:
        """Close; while the client may still be sending, read and drop what it sends for a
        moment first, so that it reads the answer rather than a connection reset."""
        writer = self.writer
        if writer.transport.is_closing():
            return
        unread = self.linger or (self.head is not None and not self.request_done)
        if unread and not self.reader.at_eof():
            with contextlib.suppress(Exception):
                writer.write_eof()
                await self._linger()
        with contextlib.suppress(Exception):
            writer.close()

    async def _linger(self) -> None:
        left = self.limits.linger_bytes
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.limits.linger_s):
                while left > 0 and (data := await self.reader.read(_READ_BYTES)):
                    left -= len(data)
