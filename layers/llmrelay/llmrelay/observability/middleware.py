"""``observed(app)``: the app, with every invocation logged and measured once its response
has ended.

Each call opens an :class:`~.record.InvocationRecord` that the gateway fills in as the
answer goes (see :mod:`.record`). The response's body is wrapped so that the record is
emitted when the body is closed: the runtime closes it after the last byte has gone out
(and Lambda has acknowledged it), so a streamed answer's metrics are complete, and their
cost (and Powertools' import, the first time) never delays a byte of any answer.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

from llmrelay.http import App, Body, HttpRequest, HttpResponse, InvocationContext
from llmrelay.observability.emit import Emitter
from llmrelay.observability.record import InvocationRecord, open_record

__all__ = ["Observed", "observed"]

Emit = Callable[[InvocationRecord], None]


class _ObservedBody:
    """The response body, passed through untouched; its end and closing are noted."""

    def __init__(self, body: Body, record: InvocationRecord, done: Callable[[], None]) -> None:
        self._parts = _iterate(body)
        self._record = record
        self._done = done
        self._closed = False

    def __aiter__(self) -> _ObservedBody:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self._parts.__anext__()
        except BaseException:  # the end, or a failure: either way the body is over
            self._record.end(time.monotonic())
            raise

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            close = getattr(self._parts, "aclose", None)
            if close is not None:
                await close()
        finally:
            self._record.end(time.monotonic())
            self._done()


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _iterate(body: Body) -> AsyncIterator[bytes]:
    return _once(body) if isinstance(body, bytes) else body


class Observed:
    """An :data:`~llmrelay.http.App` that records what each invocation did and hands the
    record to ``emit`` (default: a log line and EMF metrics, see :mod:`.emit`) once the
    response has ended."""

    def __init__(self, app: App, emit: Emit | None = None) -> None:
        self._app = app
        self._emit: Emit = emit or Emitter()
        self._cold = True

    async def __call__(self, request: HttpRequest, context: InvocationContext) -> HttpResponse:
        record = InvocationRecord(
            request_id=context.aws_request_id or request.request_id,
            method=request.method,
            path=request.path,
            started=time.monotonic(),
            cold_start=self._cold,
        )
        self._cold = False
        open_record(record)
        try:
            response = await self._app(request, context)
        except BaseException:
            record.status, record.error = 500, record.error or "internal_error"
            self._finish(record)
            raise
        record.status = response.status
        if response.status >= 400 and record.error is None:
            record.error = f"http_{response.status}"
        body = _ObservedBody(response.body, record, lambda: self._finish(record))
        return replace(response, body=body)

    def _finish(self, record: InvocationRecord) -> None:
        record.end(time.monotonic())
        try:
            self._emit(record)
        except Exception as exc:  # telemetry must never fail an answer
            from llmrelay.gateway.logs import log_exception

            log_exception("emitting logs and metrics failed", exc, request_id=record.request_id)


def observed(app: App, emit: Emit | None = None) -> Observed:
    """``app`` with per-invocation logs and metrics (``handler = streaming_handler(observed(
    build_app()))`` in the function)."""
    return Observed(app, emit)
