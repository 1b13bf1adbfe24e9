"""A fake Lambda Runtime API on loopback, as strict as Lambda about the streaming protocol.

It serves queued events from ``/next``, takes ``/response`` (streamed), ``/error`` and
``/init/error``, and records everything as it arrives, chunk by chunk with arrival times.
With ``snap_start=True`` it is an environment being initialised for a SnapStart snapshot:
the runtime must call ``/restore/next`` (once, before any ``/next``) and may report an
after-restore failure to ``/restore/error``; without it, either endpoint is a violation.
Every departure from the protocol is answered with a 400 (as Lambda answers bad requests)
and kept in :attr:`FakeRuntimeApi.violations`, which the tests' fixture requires empty.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmrelay import httpd
from llmrelay.server_thread import ServerThread

__all__ = ["Exchange", "FakeRuntimeApi", "LambdaEnv", "Queued", "RunLoop", "WriteModule"]

# The types of the fixtures in conftest.py, for the tests' annotations.
RunLoop = Callable[..., Awaitable[None]]
WriteModule = Callable[[str, str], Path]
LambdaEnv = Callable[..., dict[str, str]]

BASE = "/2018-06-01/runtime"
STREAMING = {
    "lambda-runtime-function-response-mode": "streaming",
    "transfer-encoding": "chunked",
    "trailer": "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body",
    "content-type": "application/vnd.awslambda.http-integration-response",
}
ERROR_KEYS = {"errorType", "errorMessage", "stackTrace"}
ERROR_BODY = "lambda-runtime-function-error-body"
PRELUDE_KEYS = {"statusCode", "headers", "cookies"}
_INVOCATION = re.compile(rf"^{BASE}/invocation/([^/]+)/(response|error)$")


@dataclass(frozen=True)
class Queued:
    """One event to hand out from ``/next``."""

    event: Any
    request_id: str
    deadline_ms: int
    function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:chat"
    trace_id: str | None = None


@dataclass
class Exchange:
    """What the runtime sent for one invocation (or for init)."""

    kind: str  # "response", "error", "init_error" or "restore_error"
    request_id: str
    headers: dict[str, str]
    connection: int
    raw: bytearray = field(default_factory=bytearray)
    chunks: list[tuple[float, bytes]] = field(default_factory=list)
    trailers: dict[str, str] = field(default_factory=dict)
    prelude: dict[str, Any] | None = None
    body: bytes = b""
    error: dict[str, Any] | None = None
    complete: bool = False

    @property
    def error_type(self) -> str | None:
        name = "lambda-runtime-function-error-type"
        return self.trailers.get(name) if self.kind == "response" else self.headers.get(name)


class FakeRuntimeApi:
    def __init__(self, *, response_status: int = 202, snap_start: bool = False) -> None:
        self.response_status = response_status
        self.snap_start = snap_start
        self.restored = False  # /restore/next was answered
        self.restore_status = 200  # what /restore/next answers (Lambda: 200)
        self.restore_errors: list[Exchange] = []
        self.queue: asyncio.Queue[Queued] = asyncio.Queue()
        self.exchanges: dict[str, Exchange] = {}
        self.init_errors: list[Exchange] = []
        self.violations: list[str] = []
        self.requests: list[tuple[str, str, int]] = []  # (method, path, connection)
        self.in_flight: str | None = None
        self.cut_after: bytes | None = None  # cut the connection once this has arrived
        self._connections: list[object] = []  # kept, so identities stay unique
        self._progress = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self._thread: ServerThread | None = None
        self._address = ""
        self._count = 0

    # -- test side -------------------------------------------------------------------------
    async def start(self) -> FakeRuntimeApi:
        """Serve on the running loop (for async tests that run the loop in process)."""
        self._server = await httpd.serve(self.handle)
        self._address = f"127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    @contextlib.contextmanager
    def in_thread(self) -> Iterator[FakeRuntimeApi]:
        """Serve from a thread of its own (for sync tests: ``main()``, subprocesses)."""
        with ServerThread(self.handle) as thread:
            self._thread = thread
            self._address = f"127.0.0.1:{thread.port}"
            yield self

    def outcome_from_thread(self, request_id: str, timeout: float = 10.0) -> Exchange:
        """:meth:`outcome` for a test outside the fake's loop (see :meth:`in_thread`)."""
        assert self._thread is not None
        future = asyncio.run_coroutine_threadsafe(self.outcome(request_id), self._thread.loop)
        return future.result(timeout)

    @property
    def address(self) -> str:
        """``host:port``, as ``AWS_LAMBDA_RUNTIME_API`` gives it."""
        assert self._address, "not started"
        return self._address

    def enqueue(self, event: Any, *, trace_id: str | None = None, ttl_ms: int = 60_000) -> str:
        self._count += 1
        request_id = f"req-{self._count}"
        deadline = int(time.time() * 1000) + ttl_ms
        self.queue.put_nowait(Queued(event, request_id, deadline, trace_id=trace_id))
        return request_id

    async def received(self, request_id: str, data: bytes) -> None:
        """Wait until ``data`` has arrived in the body for ``request_id``."""
        async with self._progress:
            await self._progress.wait_for(
                lambda: request_id in self.exchanges and data in self.exchanges[request_id].raw
            )

    async def outcome(self, request_id: str) -> Exchange:
        """Wait until the runtime has fully answered ``request_id``."""
        async with self._progress:
            await self._progress.wait_for(
                lambda: request_id in self.exchanges and self.exchanges[request_id].complete
            )
        return self.exchanges[request_id]

    # -- server side -----------------------------------------------------------------------
    async def handle(self, request: httpd.Request, response: httpd.ResponseWriter) -> None:
        self.requests.append((request.method, request.path, self._connection(request)))
        match = _INVOCATION.match(request.path)
        if request.method == "GET" and request.path == f"{BASE}/invocation/next":
            await self._next(response)
        elif request.method == "POST" and request.path == f"{BASE}/init/error":
            await self._init_error(request, response)
        elif request.method == "GET" and request.path == f"{BASE}/restore/next":
            await self._restore_next(request, response)
        elif request.method == "POST" and request.path == f"{BASE}/restore/error":
            await self._restore_error(request, response)
        elif request.method == "POST" and match:
            await self._invocation(request, response, match[1], match[2])
        else:
            await self._reject(request, response, f"no endpoint {request.method} {request.path}")

    async def _reject(
        self, request: httpd.Request, response: httpd.ResponseWriter, why: str
    ) -> None:
        self.violations.append(why)
        await request.read_body()
        body = json.dumps({"errorType": "InvalidRequest", "errorMessage": why}).encode()
        await response.send(400, body, [("Content-Type", "application/json")])

    async def _next(self, response: httpd.ResponseWriter) -> None:
        if self.init_errors:
            self.violations.append("/next after /init/error")
        if self.restore_errors:
            self.violations.append("/next after /restore/error")
        if self.snap_start and not self.restored:
            self.violations.append("/next before /restore/next in a SnapStart init")
        if self.in_flight is not None:
            self.violations.append(f"/next before {self.in_flight} was answered")
        queued = await self.queue.get()
        self.in_flight = queued.request_id
        headers = [
            ("Content-Type", "application/json"),
            ("Lambda-Runtime-Aws-Request-Id", queued.request_id),
            ("Lambda-Runtime-Deadline-Ms", str(queued.deadline_ms)),
            ("Lambda-Runtime-Invoked-Function-Arn", queued.function_arn),
        ]
        if queued.trace_id:
            headers.append(("Lambda-Runtime-Trace-Id", queued.trace_id))
        await response.send(200, json.dumps(queued.event).encode(), headers)

    async def _invocation(
        self, request: httpd.Request, response: httpd.ResponseWriter, request_id: str, kind: str
    ) -> None:
        if request_id != self.in_flight:
            await self._reject(request, response, f"{kind} for {request_id}, not in flight")
            return
        if kind == "response":
            problems = [
                f"header {name}: {request.headers.get(name)!r} != {value!r}"
                for name, value in STREAMING.items()
                if request.headers.get(name) != value
            ]
            if problems:
                await self._reject(request, response, "; ".join(problems))
                return
        exchange = Exchange(kind, request_id, dict(request.headers), self._connection(request))
        self.exchanges[request_id] = exchange
        if not await self._record(request, exchange):
            response.abort()
            self.in_flight = None
            return
        check = self._check_response if kind == "response" else self._check_error
        await self._finish(exchange, check(exchange), response)

    def _connection(self, request: httpd.Request) -> int:
        """A number for the connection a request came on (1, 2, ... in order of arrival)."""
        for number, connection in enumerate(self._connections, 1):
            if connection is request.connection:
                return number
        self._connections.append(request.connection)
        return len(self._connections)

    async def _record(self, request: httpd.Request, exchange: Exchange) -> bool:
        """Read the body chunk by chunk; ``False`` if :attr:`cut_after` cut it short."""
        async for part in request.iter_body():
            exchange.chunks.append((time.monotonic(), part))
            exchange.raw += part
            async with self._progress:
                self._progress.notify_all()
            if self.cut_after is not None and self.cut_after in exchange.raw:
                return False
        exchange.trailers = dict(request.trailers)
        return True

    async def _finish(
        self, exchange: Exchange, problem: str | None, response: httpd.ResponseWriter
    ) -> None:
        status = self.response_status if exchange.kind == "response" else 202
        if problem:
            self.violations.append(f"{exchange.request_id}: {problem}")
            status = 400
        self.in_flight = None
        exchange.complete = True
        async with self._progress:
            self._progress.notify_all()
        await response.send(status, b'{"status":"OK"}', [("Content-Type", "application/json")])

    def _called(self, path: str) -> bool:
        return any(seen == f"{BASE}{path}" for _, seen, _ in self.requests[:-1])

    async def _restore_next(self, request: httpd.Request, response: httpd.ResponseWriter) -> None:
        if not self.snap_start:
            await self._reject(request, response, "/restore/next in an on-demand init")
            return
        for earlier in ("/restore/next", "/invocation/next", "/init/error"):
            if self._called(earlier):
                self.violations.append(f"/restore/next after {earlier}")
        self.restored = self.restore_status == 200
        await response.send(self.restore_status, b"", [("Content-Type", "application/json")])

    async def _restore_error(self, request: httpd.Request, response: httpd.ResponseWriter) -> None:
        if not self.snap_start:
            await self._reject(request, response, "/restore/error in an on-demand init")
            return
        if not self.restored:
            self.violations.append("/restore/error before /restore/next")
        if self._called("/invocation/next"):
            self.violations.append("/restore/error after /next")
        exchange = Exchange("restore_error", "", dict(request.headers), self._connection(request))
        exchange.raw += await request.read_body()
        self.restore_errors.append(exchange)
        problem = self._check_error(exchange)
        if problem:
            self.violations.append(f"restore error: {problem}")
        await response.send(400 if problem else 202, b'{"status":"OK"}')

    async def _init_error(self, request: httpd.Request, response: httpd.ResponseWriter) -> None:
        if self._called("/invocation/next"):
            self.violations.append("/init/error after /next")
        if self.restored:
            self.violations.append("/init/error after /restore/next (use /restore/error)")
        exchange = Exchange("init_error", "", dict(request.headers), self._connection(request))
        exchange.raw += await request.read_body()
        self.init_errors.append(exchange)
        problem = self._check_error(exchange)
        if problem:
            self.violations.append(f"init error: {problem}")
        await response.send(400 if problem else 202, b'{"status":"OK"}')

    # -- protocol checks -------------------------------------------------------------------
    def _check_response(self, exchange: Exchange) -> str | None:
        head, separator, body = bytes(exchange.raw).partition(b"\0" * 8)
        if not separator:
            return "no 8-NUL separator after the prelude"
        if not body:
            return "no body byte after the prelude"
        try:
            prelude = json.loads(head)
        except ValueError:
            return f"prelude is not JSON: {head[:80]!r}"
        if not isinstance(prelude, dict) or not set(prelude) <= PRELUDE_KEYS:
            return f"prelude has unexpected shape: {prelude!r}"
        if not isinstance(prelude.get("statusCode"), int):
            return "prelude has no integer statusCode"
        exchange.prelude, exchange.body = prelude, body
        return self._check_trailers(exchange)

    def _check_trailers(self, exchange: Exchange) -> str | None:
        declared = {name.strip().lower() for name in STREAMING["trailer"].split(",")}
        if not set(exchange.trailers) <= declared:
            return f"undeclared trailers {sorted(set(exchange.trailers) - declared)}"
        if not exchange.trailers:
            return None
        if set(exchange.trailers) != declared:
            return f"error trailers incomplete: {sorted(exchange.trailers)}"
        try:
            raw = base64.b64decode(exchange.trailers[ERROR_BODY], validate=True)
        except binascii.Error:
            return "error body trailer is not base64"
        return self._error_document(exchange, raw)

    def _check_error(self, exchange: Exchange) -> str | None:
        if not exchange.headers.get("lambda-runtime-function-error-type"):
            return "no Lambda-Runtime-Function-Error-Type header"
        if "lambda-runtime-function-response-mode" in exchange.headers:
            return "an error is not a streamed response"
        return self._error_document(exchange, bytes(exchange.raw))

    @staticmethod
    def _error_document(exchange: Exchange, raw: bytes) -> str | None:
        try:
            error = json.loads(raw)
        except ValueError:
            return f"error body is not JSON: {raw[:80]!r}"
        if not isinstance(error, dict) or set(error) != ERROR_KEYS:
            return f"error body keys are not {sorted(ERROR_KEYS)}: {error!r}"
        if not isinstance(error["stackTrace"], list):
            return "stackTrace is not a list"
        exchange.error = error
        return None
