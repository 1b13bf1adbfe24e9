"""One invocation in flight: the event going in, the function's raw answer coming out.

The Runtime API emulator pushes what the runtime sends (:class:`ResponseStarted`, body
bytes, :class:`ResponseEnded`, or :class:`InvocationFailed`); the front or ``invoke``
reads them with :meth:`Invocation.items`, which enforces the function's timeout.
A bounded queue carries them, so a slow client slows the function like a real socket.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

__all__ = [
    "FunctionError",
    "FunctionTimeout",
    "Idle",
    "Invocation",
    "InvocationFailed",
    "RawItem",
    "ResponseEnded",
    "ResponseStarted",
]

_QUEUE_ITEMS = 64
_PRELUDE_END = b"\0" * 8


@dataclass(frozen=True)
class FunctionError:
    """An error the function (or the emulator on its behalf) reported."""

    error_type: str
    message: str = ""

    def __str__(self) -> str:
        return f"{self.error_type}: {self.message}" if self.message else self.error_type

    @classmethod
    def from_payload(cls, payload: bytes, error_type: str = "") -> FunctionError:
        """From a Lambda error document ``{"errorType", "errorMessage", ...}``."""
        try:
            document = json.loads(payload or b"{}")
        except ValueError:
            document = None
        if not isinstance(document, dict):
            text = payload.decode("utf-8", "replace")[:500]
            return cls(error_type or "Runtime.Unknown", text)
        kind = error_type or str(document.get("errorType") or "Runtime.Unknown")
        return cls(kind, str(document.get("errorMessage") or ""))

    @classmethod
    def from_trailers(cls, trailers: dict[str, str]) -> FunctionError | None:
        """From ``Lambda-Runtime-Function-Error-Type`` / ``-Body`` (base64 JSON)."""
        kind = trailers.get("lambda-runtime-function-error-type", "")
        if not kind:
            return None
        try:
            body = base64.b64decode(trailers.get("lambda-runtime-function-error-body", ""))
        except (binascii.Error, ValueError):
            body = b""
        return cls.from_payload(body, kind)


class FunctionTimeout(Exception):
    """The function ran past its ``Timeout``."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__(f"Task timed out after {timeout_s:.2f} seconds")
        self.timeout_s = timeout_s


@dataclass(frozen=True)
class ResponseStarted:
    """The runtime began ``/response``: streamed (chunked) or buffered."""

    content_type: str
    streaming: bool


@dataclass(frozen=True)
class ResponseEnded:
    """The response body is complete; ``error`` comes from the error trailers."""

    error: FunctionError | None = None


@dataclass(frozen=True)
class InvocationFailed:
    """``/error``, a crash, an oversized response: no response will come."""

    error: FunctionError


RawItem = ResponseStarted | bytes | ResponseEnded | InvocationFailed


class _Expired:
    """Queued when the deadline passes while the reader waits on an empty queue."""


_EXPIRED = _Expired()
Idle = Callable[[], Awaitable[None]]


def _trace_id(now_s: float) -> str:
    ids = uuid.uuid4().hex
    return f"Root=1-{int(now_s):08x}-{ids[:24]};Parent={ids[16:32]};Sampled=0"


class Invocation:
    """The event, its ids and deadline, and the queue of the function's answer."""

    def __init__(self, event: bytes, timeout_s: float, request_id: str | None = None) -> None:
        now = time.time()
        self.request_id = request_id or str(uuid.uuid4())
        self.trace_id = _trace_id(now)
        self.event = event
        self.timeout_s = timeout_s
        self.deadline_ms = int((now + timeout_s) * 1000)
        self._deadline = time.monotonic() + timeout_s
        self._queue: asyncio.Queue[RawItem | _Expired] = asyncio.Queue(_QUEUE_ITEMS)
        self._expired = False
        self.finished = False
        self.closed = False
        self.timed_out = False
        self._passed_first = False

    @property
    def remaining_s(self) -> float:
        """Seconds left before the deadline (0 once past it)."""
        return max(0.0, self._deadline - time.monotonic())

    async def push(self, item: RawItem) -> None:
        """Deliver one item (waits while the reader is behind; dropped once closed)."""
        if self.closed or self.finished:
            return
        self.finished = isinstance(item, ResponseEnded | InvocationFailed)
        await self._queue.put(item)
        if isinstance(item, bytes) and not self._passed_first and not item.endswith(_PRELUDE_END):
            # The reader sends the answer's first bytes on before more of it is read in.
            # A function URL prelude (the chunk that ends with its 8 NULs) is not the answer:
            # its body's first bytes come next, and the head leaves with them.
            self._passed_first = True
            await asyncio.sleep(0)

    def close(self) -> None:
        """The reader is gone: drop what is queued and whatever comes next."""
        self.closed = True
        while not self._queue.empty():
            self._queue.get_nowait()

    async def items(self, idle: Idle | None = None) -> AsyncIterator[RawItem]:
        """The answer as it comes, up to the terminal item; :class:`FunctionTimeout`
        when the deadline passes first. ``idle`` is awaited whenever the next item is not
        there yet: what the reader holds back (a head, to send with the first body
        bytes) goes out then, so holding it back never makes it late.

        Body bytes already queued together come out as one item: what the runtime sent in
        one write (the frames of one upstream read) then reaches the client in one write
        too, instead of a system call and a wake-up of the client per frame. Nothing is
        held back for it: only what is there is joined."""
        # One timer for the whole answer, not a timeout context per wait: each of those
        # costs a timer handle, and the reader waits once per chunk.
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise self._timed_out()
        timer = asyncio.get_running_loop().call_later(remaining, self._expire)
        try:
            held: RawItem | None = None
            while True:
                if self._expired:
                    raise self._timed_out()
                if held is not None:
                    item, held = held, None
                else:
                    if self._queue.empty():
                        if idle is not None:
                            await idle()
                        got = await self._queue.get()
                    else:  # every chunk's path: no task, no wait
                        got = self._queue.get_nowait()
                    if isinstance(got, _Expired):
                        raise self._timed_out()
                    item = got
                if isinstance(item, bytes) and not self._queue.empty():
                    item, held = self._joined(item)
                if isinstance(item, ResponseEnded | InvocationFailed):
                    timer.cancel()  # now, not when a reader that stops here lets go of us
                    yield item
                    return
                yield item
        finally:
            timer.cancel()

    def _expire(self) -> None:
        self._expired = True
        if self._queue.empty():  # wakes a reader waiting for the next item
            self._queue.put_nowait(_EXPIRED)

    def _timed_out(self) -> FunctionTimeout:
        self.timed_out = True
        return FunctionTimeout(self.timeout_s)

    def _joined(self, first: bytes) -> tuple[bytes, RawItem | None]:
        """``first`` and the body bytes queued after it, joined; the item that stopped the
        joining (a terminal one), if any."""
        parts = [first]
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if isinstance(item, _Expired):
                break  # (the flag is set: the next turn of items() raises)
            if not isinstance(item, bytes):
                return b"".join(parts), item
            parts.append(item)
        return b"".join(parts), None
