"""The function URL in front of the workers, on ``127.0.0.1:${PORT:-3000}``.

An HTTP request becomes a payload v2.0 event (413 over 6 MB, as a function URL answers);
a worker runs it; the answer goes back as it arrives: status, headers and cookies from the
prelude, then the body chunk by chunk. A function error before the first byte is a 502,
a timeout before it a 504; after the first byte the status is sent, so an error trailer
ends the response and a timeout cuts it. A client that goes away does not stop the
function (as in Lambda): its output is read and dropped.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Coroutine

from llmrelay.httpd import Request, ResponseWriter
from llmrelay.local.event import IncomingRequest, build_event
from llmrelay.local.invocation import FunctionTimeout, InvocationFailed
from llmrelay.local.pool import Lease, PoolBusy, PoolClosed, WorkerPool
from llmrelay.local.response import HttpItem, ResponseDone, ResponseHead, decode_response
from llmrelay.local.runtime_api import InitFailed

__all__ = ["MAX_REQUEST_BYTES", "FunctionUrl", "error_body"]

MAX_REQUEST_BYTES = 6 * 1024 * 1024
_DISCARD_LIMIT = 4 * MAX_REQUEST_BYTES  # beyond this an oversized body is not even read
_HOP_BY_HOP = {"connection", "content-length", "keep-alive", "transfer-encoding", "trailer"}
_log = logging.getLogger("llmrelay.local")
Headers = list[tuple[str, str]]
Event = tuple[str, bytes]  # the request id (the event's and the invocation's) and the JSON


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


async def _send_error(
    response: ResponseWriter, status: int, code: str, message: str, *extra: tuple[str, str]
) -> int:
    headers = [("Content-Type", "application/json"), *extra]
    await response.send(status, error_body(code, message), headers)
    return status


class _Client:
    """The client side of one response; once the client is gone, writes are dropped.
    The head waits for the body's first bytes, to leave with them in one write, but only
    while they are at hand: :meth:`flush` sends it before the answer is waited for."""

    def __init__(self, response: ResponseWriter, head_only: bool) -> None:
        self.response = response
        self.head_only = head_only
        self.gone = False
        self.status = 502
        self._head: tuple[int, Headers] | None = None

    async def start(self, head: ResponseHead, extra: Headers) -> None:
        self.status = head.status
        headers = [(k, v) for k, v in head.headers if k.lower() not in _HOP_BY_HOP]
        headers += [("Set-Cookie", cookie) for cookie in head.cookies] + extra
        if self.head_only:
            await self._guard(self.response.send(head.status, b"", headers))
        else:
            self._head = (head.status, headers)

    async def flush(self) -> None:
        """Send the head if it is still held back."""
        if self._head is not None:
            await self._send_head(b"")

    async def write(self, data: bytes) -> None:
        if self._head is not None:
            await self._send_head(data)
        elif not self.head_only:
            await self._guard(self.response.write(data))

    async def end(self) -> None:
        if not self.head_only:
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
        except (ConnectionError, RuntimeError):
            self.gone = True
            self.response.abort()


async def _read_body(request: Request, response: ResponseWriter) -> bytes | None:
    """The body, or ``None`` when it is over the limit. An oversized body is still read (up
    to a bound) so that the client, busy sending it, gets to read the 413."""
    declared = int(request.headers.get("content-length", "0") or 0)
    if request.headers.get("expect", "").lower() == "100-continue":
        if declared > MAX_REQUEST_BYTES:
            return None  # the client waits for our answer before it sends the body
        await response.write_raw(b"HTTP/1.1 100 Continue\r\n\r\n")
    if declared > _DISCARD_LIMIT:
        return None
    parts: list[bytes] = []
    size = 0
    async for part in request.iter_body():
        size += len(part)
        if size <= MAX_REQUEST_BYTES:
            parts.append(part)
        elif size > _DISCARD_LIMIT:
            return None
    return b"".join(parts) if size <= MAX_REQUEST_BYTES else None


class FunctionUrl:
    """The httpd handler of the function URL; one log line per request."""

    def __init__(self, pool: WorkerPool, port: int) -> None:
        self.pool = pool
        self.port = port

    async def __call__(self, request: Request, response: ResponseWriter) -> None:
        began = time.monotonic()
        lease: Lease | None = None
        status = 500
        try:
            event = await self._event(request, response)
            if event is None:
                status = 413
            else:
                async with self.pool.lease() as lease:
                    status = await self._relay(lease, event, request.method, response)
        except PoolBusy as exc:
            retry = ("Retry-After", "1")
            status = await _send_error(response, 429, "too_many_requests", str(exc), retry)
        except InitFailed as exc:
            _log.warning("init failed: %s", exc)
            status = await _send_error(response, 502, "function_error", f"init failed: {exc}")
        except PoolClosed:
            status = await _send_error(response, 503, "shutting_down", "the emulator is stopping")
        finally:
            _log.info("%s", _log_line(request, status, began, lease))

    async def _event(self, request: Request, response: ResponseWriter) -> Event | None:
        """The event (its id, its JSON), or ``None`` once a 413 went out."""
        body = await _read_body(request, response)
        if body is not None:
            incoming = IncomingRequest(
                request.method, request.target, request.headers, body, port=self.port
            )
            event = json.dumps(build_event(incoming)).encode()
            if len(event) <= MAX_REQUEST_BYTES:
                return incoming.request_id, event
        response.keep_alive = False
        message = f"the request is over the function URL limit of {MAX_REQUEST_BYTES} bytes"
        await _send_error(response, 413, "payload_too_large", message, ("Connection", "close"))
        return None

    async def _relay(
        self, lease: Lease, event: Event, method: str, response: ResponseWriter
    ) -> int:
        invocation = lease.worker.invoke(event[1], request_id=event[0])
        start = "cold" if lease.cold else "warm"
        extra = [
            ("X-Amzn-RequestId", invocation.request_id),
            ("X-Llmrelay-Worker", f"pid={lease.worker.pid}; {start}"),
        ]
        client = _Client(response, head_only=method == "HEAD")
        try:
            items = invocation.items(idle=client.flush)
            return await _forward(decode_response(items), client, extra)
        except FunctionTimeout as exc:
            invocation.close()
            _log.warning("%s (request %s)", exc, invocation.request_id)
            if not response.started:
                return await _send_error(response, 504, "function_timeout", str(exc), *extra)
            response.abort()
            return client.status


async def _forward(items: AsyncIterator[HttpItem], client: _Client, extra: Headers) -> int:
    """Pass the decoded answer to the client; the status sent."""
    async for item in items:
        if isinstance(item, InvocationFailed):
            _log.warning("function error: %s", item.error)
            message = str(item.error)
            return await _send_error(client.response, 502, "function_error", message, *extra)
        if isinstance(item, ResponseHead):
            await client.start(item, extra)
        elif isinstance(item, bytes):
            await client.write(item)
        elif isinstance(item, ResponseDone):
            if item.error is not None:
                _log.warning("function error after the first byte: %s", item.error)
            await client.end()
    return client.status


def _log_line(request: Request, status: int, began: float, lease: Lease | None) -> str:
    duration = (time.monotonic() - began) * 1000
    line = f"{request.method} {request.target} {status} {duration:.0f}ms"
    if lease is None:
        return line
    worker = lease.worker
    start = f"cold (init {worker.init_ms:.0f}ms)" if lease.cold else "warm"
    return f"{line} {start} worker {worker.index} pid {worker.pid}"
