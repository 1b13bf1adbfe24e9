"""The function URL in front of the workers, on ``127.0.0.1:${PORT:-3000}``.

An HTTP request becomes a payload v2.0 event (413 over 6 MB, counted as the bytes arrive,
as a function URL answers); a worker runs it; the answer goes back as it arrives: status,
headers and cookies from the prelude, then the body chunk by chunk. A function error before
the first byte is a 502, a timeout before it a 504; after the first byte the status is
sent, so an error trailer ends the response and a timeout cuts it. A client that goes away
does not stop the function (as in Lambda): its output is read and dropped.

The HTTP/1.1 is :mod:`llmrelay.httpd`'s (httptools' parser), held to :data:`FRONT_LIMITS`; what the
front answers itself has the function's JSON error shape (:mod:`llmrelay.local.answers`).
One access-log line per request (:mod:`llmrelay.local.access_log`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Coroutine

from llmrelay.httpd import Headers, HttpError, Limits, Request, ResponseWriter
from llmrelay.local.access_log import log_target, printable, status_text
from llmrelay.local.answers import Answers
from llmrelay.local.event import IncomingRequest, build_event
from llmrelay.local.invocation import FunctionTimeout, InvocationFailed
from llmrelay.local.pool import Lease, PoolBusy, PoolClosed, WorkerPool
from llmrelay.local.response import HttpItem, ResponseDone, ResponseHead, decode_response
from llmrelay.local.runtime_api import InitFailed

__all__ = ["FRONT_LIMITS", "MAX_REQUEST_BYTES", "FunctionUrl"]

MAX_REQUEST_BYTES = 6 * 1024 * 1024
# A browser or an SDK sends its head in one go and its body at once; whatever takes longer
# holds a descriptor for nothing. 16,384 chunks keep parsing a 6 MB body under 0.1 s of CPU.
FRONT_LIMITS = Limits(
    idle_timeout_s=30.0,
    head_timeout_s=10.0,
    body_timeout_s=30.0,
    body_idle_timeout_s=10.0,
    send_timeout_s=30.0,
    max_chunks=16_384,
)
_HOP_BY_HOP = {
    "connection", "content-length", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade",
}  # fmt: skip
_log = logging.getLogger("llmrelay.local")
Event = tuple[str, bytes]  # the request id (the event's and the invocation's) and the JSON


class _Client:
    """The client side of one response; once the client is gone, writes are dropped.
    The head waits for the body's first bytes, to leave with them in one write, but only
    while they are at hand: :meth:`flush` sends it before the answer is waited for."""

    def __init__(self, response: ResponseWriter) -> None:
        self.response = response
        self.gone = False
        self._head: tuple[int, Headers] | None = None

    async def start(self, head: ResponseHead, extra: Headers) -> None:
        headers = [(k, v) for k, v in head.headers if k.lower() not in _HOP_BY_HOP]
        self._head = (head.status, headers + [("Set-Cookie", c) for c in head.cookies] + extra)

    async def flush(self) -> None:
        """Send the head if it is still held back."""
        if self._head is not None:
            await self._send_head(b"")

    async def write(self, data: bytes) -> None:
        if self._head is not None:
            await self._send_head(data)
        elif not self.gone:  # every chunk's path: no coroutine wrapped around the write
            try:
                await self.response.write(data)
            except ConnectionError:
                self._lost()

    async def end(self) -> None:
        await self.flush()
        await self._guard(self.response.end())

    async def _send_head(self, first: bytes) -> None:
        assert self._head is not None
        status, headers = self._head
        self._head = None
        await self._guard(self.response.start(status, headers, first=first))

    async def _guard(self, action: Coroutine[object, object, None]) -> None:
        if self.gone:
            action.close()
            return
        try:
            await action
        except ConnectionError:
            self._lost()

    def _lost(self) -> None:
        self.gone = True
        self.response.abort()


async def _read_body(request: Request) -> bytes | None:
    """The body, or ``None`` once it is over the limit: a declared length at once (a client
    waiting for ``100 Continue`` never sends it), else as the bytes arrive."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
        return None
    body = bytearray()
    async for part in request.iter_body():
        body += part
        if len(body) > MAX_REQUEST_BYTES:
            return None
    return bytes(body)


class FunctionUrl:
    """The httpd handler of the function URL; one log line per request. ``refusal`` is the
    server's :data:`~llmrelay.httpd.ErrorPage`."""

    def __init__(self, pool: WorkerPool, port: int, answers: Answers | None = None) -> None:
        self.pool = pool
        self.port = port
        self.answers = answers or Answers(pool.spec.environment)

    def refusal(self, request: Request | None, error: HttpError) -> tuple[bytes, Headers]:
        if request is None:  # refused before its head could be read: no handler, no log
            _log.info("- - %s %s", error.status, printable(error.message))
        return self.answers.refusal(request, error)

    async def __call__(self, request: Request, response: ResponseWriter) -> None:
        began = time.monotonic()
        lease: Lease | None = None
        try:
            event = await self._event(request, response)
            if event is not None:
                async with self.pool.lease() as lease:
                    await self._relay(lease, event, request, response)
        except HttpError as error:  # the body's framing or pace: answered, then closed
            response.keep_alive = False
            await self._error(request, response, error.status, error.code, error.message)
        except PoolBusy as exc:
            retry = ("Retry-After", "1")
            await self._error(request, response, 429, "too_many_requests", str(exc), retry)
        except InitFailed as exc:
            _log.warning("init failed: %s", exc)
            await self._error(request, response, 502, "function_error", f"init failed: {exc}")
        except PoolClosed:
            await self._error(request, response, 503, "shutting_down", "the emulator is stopping")
        finally:
            _log.info("%s", _log_line(request, response, began, lease))

    async def _error(
        self,
        request: Request,
        response: ResponseWriter,
        status: int,
        code: str,
        message: str,
        *extra: tuple[str, str],
    ) -> None:
        if response.started:
            response.abort()
            return
        body, headers = self.answers.error(request, status, code, message, *extra)
        await response.send(status, body, headers)

    async def _event(self, request: Request, response: ResponseWriter) -> Event | None:
        """The event (its id, its JSON), or ``None`` once a 413 went out."""
        body = await _read_body(request)
        if body is not None:
            incoming = IncomingRequest(
                request.method, request.target, request.headers, body, port=self.port
            )
            event = json.dumps(build_event(incoming)).encode()
            if len(event) <= MAX_REQUEST_BYTES:
                return incoming.request_id, event
        response.keep_alive = False  # the rest of the body is not read
        message = f"the request is over the function URL limit of {MAX_REQUEST_BYTES} bytes"
        await self._error(request, response, 413, "payload_too_large", message)
        return None

    async def _relay(
        self, lease: Lease, event: Event, request: Request, response: ResponseWriter
    ) -> None:
        invocation = lease.worker.invoke(event[1], request_id=event[0])
        start = "cold" if lease.cold else "warm"
        extra = [
            ("X-Amzn-RequestId", invocation.request_id),
            ("X-Llmrelay-Worker", f"pid={lease.worker.pid}; {start}"),
        ]
        client = _Client(response)
        try:
            items = invocation.items(idle=client.flush)
            await self._forward(decode_response(items), client, request, extra)
        except FunctionTimeout as exc:
            invocation.close()
            _log.warning("%s (request %s)", exc, invocation.request_id)
            await self._error(request, response, 504, "function_timeout", str(exc), *extra)

    async def _forward(
        self, items: AsyncIterator[HttpItem], client: _Client, request: Request, extra: Headers
    ) -> None:
        """Pass the decoded answer to the client."""
        async for item in items:
            if isinstance(item, bytes):  # (the most frequent, first)
                await client.write(item)
            elif isinstance(item, InvocationFailed):
                _log.warning("function error: %s", item.error)
                message = str(item.error)
                await self._error(request, client.response, 502, "function_error", message, *extra)
            elif isinstance(item, ResponseHead):
                await client.start(item, extra)
            elif isinstance(item, ResponseDone):
                if item.error is not None:
                    _log.warning("function error after the first byte: %s", item.error)
                await client.end()


def _log_line(request: Request, response: ResponseWriter, began: float, lease: Lease | None) -> str:
    duration = (time.monotonic() - began) * 1000
    status = status_text(response.status, cut=response.cut)
    line = f"{printable(request.method)} {log_target(request.target)} {status} {duration:.0f}ms"
    if lease is None:
        return line
    worker = lease.worker
    start = f"cold (init {worker.init_ms:.0f}ms)" if lease.cold else "warm"
    return f"{line} {start} worker {worker.index} pid {worker.pid}"
