"""The Lambda Runtime API (2018-06-01) of one execution environment, on loopback.

Each worker process gets its own emulator, as each Lambda sandbox has its own endpoint.
It validates like Lambda: a response for an unknown or already answered request id is a
400 ``InvalidRequestID``; a response-mode header other than ``streaming`` is a 400
``InvalidFunctionResponseMode``; ``/next`` with an invocation still unanswered and
``/init/error`` after init are 403 ``InvalidStateTransition``; a buffered response over
6 MB is a 413 ``RequestEntityTooLarge``. Accepted calls answer 202.

With ``snap_start=True`` it is an environment initialised for a SnapStart snapshot: the
runtime's ``GET /restore/next`` (after init and its before-snapshot hooks) marks the snapshot
as taken and is answered only when :meth:`RuntimeApi.restore` is called, as Lambda answers it
in each environment it restores; ``POST /restore/error`` (a failed after-restore hook) fails
the environment. Without it, both are 403 ``InvalidStateTransition``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Literal

from llmrelay.httpd import HttpError, Limits, Request, ResponseWriter, serve
from llmrelay.local.invocation import (
    FunctionError,
    Invocation,
    InvocationFailed,
    ResponseEnded,
    ResponseStarted,
)

__all__ = ["InitFailed", "RuntimeApi"]

_log = logging.getLogger("llmrelay.local")
_PREFIX = "/2018-06-01/runtime/"
_BUFFERED_LIMIT = 6 * 1024 * 1024
_STREAMED_LIMIT = 200 * 1024 * 1024
_MODE = "lambda-runtime-function-response-mode"
# The runtime is the one client: its connection idles between invocations, and a response
# streams for as long as the function runs, in as many chunks as it writes.
_LIMITS = Limits(
    idle_timeout_s=None, body_timeout_s=None, body_idle_timeout_s=None, max_chunks=None
)
State = Literal["init", "snapshot", "restored", "idle", "invoking", "failed"]
_Route = Callable[[Request, ResponseWriter], Awaitable[None]]


class InitFailed(Exception):
    """The runtime reported ``/init/error``, exited, or never asked for work in time."""

    def __init__(self, error: FunctionError) -> None:
        super().__init__(str(error))
        self.error = error


def _json(document: dict[str, str]) -> bytes:
    return json.dumps(document).encode()


async def _reject(response: ResponseWriter, status: int, kind: str, message: str) -> None:
    body = _json({"errorMessage": message, "errorType": kind})
    await response.send(status, body, [("Content-Type", "application/json")])


class RuntimeApi:
    """One sandbox's Runtime API: :meth:`submit` an invocation, the runtime fetches it
    with ``/next`` and answers on ``/response`` or ``/error``."""

    def __init__(self, function_arn: str, *, snap_start: bool = False) -> None:
        self.function_arn = function_arn
        self.snap_start = snap_start
        self.state: State = "init"
        self._pending: asyncio.Queue[Invocation] = asyncio.Queue()
        self._current: Invocation | None = None
        self._answered = False
        self._settled: asyncio.Future[FunctionError | None] | None = None
        self._snapshotted: asyncio.Future[FunctionError | None] | None = None
        self._restore = asyncio.Event()  # set by restore(): /restore/next answers
        self._idle = asyncio.Event()  # the runtime polls /next with nothing owed, or is gone
        self._server: asyncio.Server | None = None
        self._calls: set[asyncio.Task[object]] = set()

    @property
    def address(self) -> str:
        assert self._server is not None, "runtime API not started"
        return f"127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def start(self) -> str:
        self._settled = asyncio.get_running_loop().create_future()
        self._snapshotted = asyncio.get_running_loop().create_future()
        self._server = await serve(self._handle, limits=_LIMITS)
        return self.address

    def close(self) -> None:
        """Stop listening and end every call in progress (a ``/next`` long poll too)."""
        if self._server is not None:
            self._server.close()
        for task in self._calls:
            task.cancel()
        self._settle(FunctionError("Runtime.Shutdown", "the emulator is shutting down"))
        self._idle.set()

    def submit(self, invocation: Invocation) -> None:
        """Queue ``invocation`` for the runtime's next ``/next``."""
        self._pending.put_nowait(invocation)

    async def wait_ready(self, timeout_s: float) -> None:
        """Wait for the first ``/next`` (init done); :class:`InitFailed` otherwise."""
        assert self._settled is not None, "runtime API not started"
        try:
            error = await asyncio.wait_for(asyncio.shield(self._settled), timeout_s)
        except TimeoutError:
            error = FunctionError("Runtime.InitTimeout", f"init took over {timeout_s:g} s")
        if error is not None:
            raise InitFailed(error)

    async def wait_snapshot(self, timeout_s: float) -> None:
        """Wait for ``/restore/next`` (init and the before-snapshot hooks done: the snapshot
        is taken); :class:`InitFailed` otherwise."""
        assert self._snapshotted is not None, "runtime API not started"
        try:
            error = await asyncio.wait_for(asyncio.shield(self._snapshotted), timeout_s)
        except TimeoutError:
            error = FunctionError("Runtime.InitTimeout", f"init took over {timeout_s:g} s")
        if error is not None:
            raise InitFailed(error)

    def restore(self) -> None:
        """Resume the environment from its snapshot: ``/restore/next`` answers."""
        self._restore.set()

    async def wait_idle(self, timeout_s: float) -> bool:
        """Wait until the runtime asks for its next event, its last invocation's work
        done (Lambda's sandbox runs until then: post-response logs and metrics included),
        or is gone; ``False`` when it did not within ``timeout_s``."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    async def runtime_exited(self, returncode: int) -> None:
        """The worker process is gone: fail whatever it owed."""
        error = FunctionError("Runtime.ExitError", f"Runtime exited with exit status {returncode}")
        self.state = "failed"
        self._settle(error)
        self._idle.set()
        owed = [self._current] if self._current is not None else []
        while not self._pending.empty():
            owed.append(self._pending.get_nowait())
        for invocation in owed:
            if not invocation.finished:
                await invocation.push(InvocationFailed(error))

    def _settle(self, error: FunctionError | None) -> None:
        for future in (self._snapshotted, self._settled):
            if future is not None and not future.done():
                future.set_result(error)

    async def _handle(self, request: Request, response: ResponseWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._calls.add(task)
        try:
            await self._route(request, response)
        except ConnectionError:
            response.abort()
        except Exception:
            _log.exception("runtime API: %s %s failed", request.method, request.path)
            if not response.started:
                await _reject(response, 500, "ServiceException", "emulator error")
        finally:
            self._calls.discard(task)

    def _match(self, path: str) -> tuple[str, _Route] | None:
        if not path.startswith(_PREFIX):
            return None
        parts = path.removeprefix(_PREFIX).split("/")
        if parts == ["invocation", "next"]:
            return "GET", self._next
        if parts == ["init", "error"]:
            return "POST", partial(self._lifecycle_error, "init", "InitError")
        if parts == ["restore", "next"]:
            return "GET", self._restore_next
        if parts == ["restore", "error"]:
            return "POST", partial(self._lifecycle_error, "restored", "RestoreError")
        if len(parts) == 3 and parts[0] == "invocation" and parts[1]:
            if parts[2] == "response":
                return "POST", partial(self._response, parts[1])
            if parts[2] == "error":
                return "POST", partial(self._error, parts[1])
        return None

    async def _route(self, request: Request, response: ResponseWriter) -> None:
        route = self._match(request.path)
        if route is None:
            await _reject(response, 404, "NotFound", f"no route {request.path}")
            return
        method, action = route
        if request.method != method:
            await _reject(response, 405, "MethodNotAllowed", f"use {method}")
            return
        await action(request, response)

    async def _next(self, request: Request, response: ResponseWriter) -> None:
        if self.state == "failed" or (self._current is not None and not self._answered):
            message = f"State transition from {self.state} to Ready failed"
            await _reject(response, 403, "InvalidStateTransition", message)
            return
        if self.state == "snapshot" or (self.state == "init" and self.snap_start):
            message = f"State transition from {self.state} to Ready failed"
            await _reject(response, 403, "InvalidStateTransition", message)
            return
        if self.state in ("init", "restored"):
            self.state = "idle"
            self._settle(None)
        self._current = None
        self._idle.set()
        invocation = await self._pending.get()
        self._idle.clear()
        self._current, self._answered, self.state = invocation, False, "invoking"
        headers = [
            ("Content-Type", "application/json"),
            ("Lambda-Runtime-Aws-Request-Id", invocation.request_id),
            ("Lambda-Runtime-Deadline-Ms", str(invocation.deadline_ms)),
            ("Lambda-Runtime-Invoked-Function-Arn", self.function_arn),
            ("Lambda-Runtime-Trace-Id", invocation.trace_id),
        ]
        try:
            await response.send(200, invocation.event, headers)
        except ConnectionError:
            error = FunctionError("Runtime.ExitError", "the runtime went away while polling")
            await invocation.push(InvocationFailed(error))
            raise

    def _claim(self, request_id: str) -> Invocation | None:
        current = self._current
        if current is None or current.request_id != request_id or self._answered:
            return None
        self._answered = True
        return current

    async def _response(self, request_id: str, request: Request, response: ResponseWriter) -> None:
        invocation = self._claim(request_id)
        if invocation is None:
            await _reject(response, 400, "InvalidRequestID", "Invalid request ID")
            return
        mode = request.headers.get(_MODE)
        if mode is not None and mode != "streaming":
            error = FunctionError("Runtime.InvalidResponseModeHeader", f"{_MODE}: {mode!r}")
            await invocation.push(InvocationFailed(error))
            message = "Invalid function response mode"
            await _reject(response, 400, "InvalidFunctionResponseMode", message)
            return
        if mode == "streaming":
            ok = await self._read_streamed(invocation, request)
        else:
            ok = await self._read_buffered(invocation, request)
        if not ok:
            message = "Exceeded maximum allowed payload size"
            await _reject(response, 413, "RequestEntityTooLarge", message)
            return
        await response.send(202, _json({"status": "OK"}), [("Content-Type", "application/json")])

    async def _read_buffered(self, invocation: Invocation, request: Request) -> bool:
        parts: list[bytes] = []
        size = 0
        async for part in request.iter_body():  # read it all, so the 413 reaches the runtime
            size += len(part)
            if size <= _BUFFERED_LIMIT:
                parts.append(part)
        if size > _BUFFERED_LIMIT:
            message = f"Response payload size exceeded maximum allowed ({_BUFFERED_LIMIT} bytes)"
            error = FunctionError("Function.ResponseSizeTooLarge", message)
            await invocation.push(InvocationFailed(error))
            return False
        content_type = request.headers.get("content-type", "application/json")
        await invocation.push(ResponseStarted(content_type, streaming=False))
        await invocation.push(b"".join(parts))
        await invocation.push(ResponseEnded())
        return True

    async def _read_streamed(self, invocation: Invocation, request: Request) -> bool:
        content_type = request.headers.get("content-type", "application/octet-stream")
        await invocation.push(ResponseStarted(content_type, streaming=True))
        size = 0
        try:
            async for chunk in request.iter_body():
                size += len(chunk)
                if size > _STREAMED_LIMIT:
                    error = FunctionError("Function.ResponseSizeTooLarge", "over 200 MB streamed")
                    await invocation.push(ResponseEnded(error))
                    return False
                await invocation.push(chunk)
        except (ConnectionError, HttpError):
            error = FunctionError("Runtime.TruncatedResponse", "the response stream was cut")
            await invocation.push(ResponseEnded(error))
            raise ConnectionError("truncated response") from None
        await invocation.push(ResponseEnded(FunctionError.from_trailers(request.trailers)))
        return True

    async def _error(self, request_id: str, request: Request, response: ResponseWriter) -> None:
        invocation = self._claim(request_id)
        if invocation is None:
            await _reject(response, 400, "InvalidRequestID", "Invalid request ID")
            return
        body = await request.read_body(_BUFFERED_LIMIT)
        kind = request.headers.get("lambda-runtime-function-error-type", "")
        await invocation.push(InvocationFailed(FunctionError.from_payload(body, kind)))
        await response.send(202, _json({"status": "OK"}), [("Content-Type", "application/json")])

    async def _restore_next(self, request: Request, response: ResponseWriter) -> None:
        if not self.snap_start or self.state != "init":
            message = f"State transition from {self.state} to Restoring failed"
            await _reject(response, 403, "InvalidStateTransition", message)
            return
        self.state = "snapshot"
        if self._snapshotted is not None and not self._snapshotted.done():
            self._snapshotted.set_result(None)
        await self._restore.wait()
        self.state = "restored"
        await response.send(200, b"", [("Content-Type", "application/json")])

    async def _lifecycle_error(
        self, expected: str, phase: str, request: Request, response: ResponseWriter
    ) -> None:
        """``init/error`` (in the ``init`` state) or ``restore/error`` (once ``restored``):
        the worker failed before any invocation; the pool hears why."""
        if self.state != expected:
            message = f"State transition from {self.state} to {phase} failed"
            await _reject(response, 403, "InvalidStateTransition", message)
            return
        body = await request.read_body(_BUFFERED_LIMIT)
        kind = request.headers.get("lambda-runtime-function-error-type", "")
        self.state = "failed"
        self._settle(FunctionError.from_payload(body, kind))
        await response.send(202, _json({"status": "OK"}), [("Content-Type", "application/json")])
