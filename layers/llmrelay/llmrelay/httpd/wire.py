"""One client connection: h11's state machine fed from an asyncio stream, every wait bounded.

h11 does the parsing and framing (lengths, chunks, trailers, HTTP/1.0, bodiless answers,
keep-alive and pipelining); this module only moves bytes and enforces :class:`Limits`.
Reading is pulled by whoever needs the next event, so a client that sends more than the
server asks for is held back by TCP, never buffered here.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import h11

from llmrelay.httpd.errors import BadRequest, BodyTooLarge, Limits, RequestTimeout

__all__ = ["Wire"]

_READ_BYTES = 64 * 1024
_YIELD_EVERY = 256  # events parsed between two turns of the event loop for other clients


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + timeout


def _soonest(*timeouts: float | None) -> float | None:
    given = [t for t in timeouts if t is not None]
    return min(given) if given else None


class Wire:
    """The h11 connection of one socket (see the module's docstring)."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, limits: Limits
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.limits = limits
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=limits.head_bytes)
        self.raw = False  # bytes went out behind h11's back: this state machine is done
        self.linger = False  # closing on a refused request: the client may still be sending

    # -- reading -------------------------------------------------------------------------------

    def _parse(
        self, status: int | None = None
    ) -> h11.Event | type[h11.NEED_DATA] | type[h11.PAUSED]:
        try:
            return self.h11.next_event()
        except h11.RemoteProtocolError as exc:
            if self.h11.trailing_data[1]:  # the client is gone: no one to tell what was wrong
                raise ConnectionResetError("the client closed the connection mid-request") from None
            # h11's words up to the colon: what it quotes after it is the client's raw bytes.
            message = str(exc).split(":", 1)[0]
            raise BadRequest(message, status or exc.error_status_hint) from None

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
        self.h11.receive_data(data)

    async def next_request(self) -> h11.Request | None:
        """The next request's head; ``None`` when the client closed, or sent nothing of a
        next request for ``idle_timeout_s``. Once its first byte is in, the head must be
        complete within ``head_timeout_s`` (else 408)."""
        started = False
        deadline: float | None = None
        while True:
            event = self._parse()
            if isinstance(event, h11.Request):
                return event
            if event is not h11.NEED_DATA:  # ConnectionClosed
                return None
            if not started and self.h11.trailing_data[0]:
                started, deadline = True, _deadline(self.limits.head_timeout_s)
            if started:
                await self._receive(_remaining(deadline), "the request head took too long")
                continue
            try:
                await self._receive(self.limits.idle_timeout_s, "idle")
            except RequestTimeout:
                return None  # an idle keep-alive connection ends quietly, as servers do

    async def body(self, on_trailers: dict[str, str]) -> AsyncIterator[bytes]:
        """The body's pieces as they arrive; trailers land in ``on_trailers``. A client that
        waits for ``100 Continue`` gets it now, when the body is wanted."""
        limits = self.limits
        if self.h11.they_are_waiting_for_100_continue:
            await self.send(
                h11.InformationalResponse(status_code=100, headers=[], reason=b"Continue")
            )
        deadline = _deadline(limits.body_timeout_s)
        chunks = parsed = 0
        while True:
            event = self._parse(400)
            if event is h11.NEED_DATA:
                timeout = _soonest(_remaining(deadline), limits.body_idle_timeout_s)
                await self._receive(timeout, "the request body took too long")
                continue
            parsed += 1
            if parsed % _YIELD_EVERY == 0:
                await asyncio.sleep(0)  # tiny chunks must not starve the other clients
            if isinstance(event, h11.Data):
                chunks += event.chunk_start
                if limits.max_chunks is not None and chunks > limits.max_chunks:
                    raise BodyTooLarge(f"the body is split into over {limits.max_chunks} chunks")
                if event.data:
                    yield bytes(event.data)  # h11 hands out bytearray slices
            elif isinstance(event, h11.EndOfMessage):
                for name, value in event.headers:
                    on_trailers[name.decode("latin-1")] = value.decode("latin-1")
                return
            else:  # pragma: no cover - h11 sends nothing else inside a body
                raise BadRequest(f"unexpected {type(event).__name__} in a body")

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

    async def send(self, *events: h11.Event) -> None:
        """Frame ``events`` and send them in one write, within ``send_timeout_s``."""
        data = b"".join(self.h11.send(event) or b"" for event in events)
        await self.write(data)

    async def write(self, data: bytes) -> None:
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
        with contextlib.suppress(Exception):
            self.writer.transport.abort()

    # -- between requests, and the end ---------------------------------------------------------

    def next_cycle(self) -> bool:
        """Ready for the next request on this connection, or ``False`` (it must close)."""
        if self.raw:
            unread, closed = self.h11.trailing_data
            if closed or self.h11.their_state is not h11.DONE:
                return False
            self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=self.limits.head_bytes)
            if unread:  # (b"" would tell h11 the client closed)
                self.h11.receive_data(unread)
            self.raw = False
            return True
        if self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE:
            self.h11.start_next_cycle()
            return True
        return False

    async def close(self) -> None:
        """Close; while the client may still be sending, read and drop what it sends for a
        moment first, so that it reads the answer rather than a connection reset."""
        writer = self.writer
        if writer.transport.is_closing():
            return
        unread = self.linger or self.h11.their_state is h11.SEND_BODY
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
