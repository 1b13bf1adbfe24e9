"""Serve a handler: one task per connection, its requests one after another (pipelined
ones wait their turn in the socket), each bounded by :class:`Limits`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from llmrelay.httpd.errors import HttpError, Limits
from llmrelay.httpd.messages import Headers, ProtocolError, Request, ResponseWriter, header_dict
from llmrelay.httpd.wire import Head, Wire

__all__ = ["ErrorPage", "Handler", "plain_error", "serve"]

_log = logging.getLogger("llmrelay.httpd")

Handler = Callable[[Request, ResponseWriter], Awaitable[None]]
# The answer to a refused request: its body and headers (the request is None when its head
# could not be read).
ErrorPage = Callable[[Request | None, HttpError], tuple[bytes, Headers]]


def plain_error(request: Request | None, error: HttpError) -> tuple[bytes, Headers]:
    return error.message.encode("utf-8"), [("Content-Type", "text/plain; charset=utf-8")]


def _request(head: Head, wire: Wire) -> Request:
    request = Request(
        head.method,
        head.target,
        header_dict(head.headers),
        version=f"HTTP/{head.version}",
        connection=wire,
    )
    request.body = wire.body(request.trailers)
    return request


async def _refuse(
    response: ResponseWriter, error: HttpError, request: Request | None, page: ErrorPage
) -> None:
    """Answer ``error`` (and close) if nothing went out yet, else cut the response."""
    if response.started:
        response.abort()
        return
    body, headers = page(request, error)
    response.keep_alive = False
    response.wire.linger = True
    with contextlib.suppress(ConnectionError, ProtocolError):
        await response.send(error.status, body, headers)


async def _run(
    handler: Handler, request: Request, response: ResponseWriter, page: ErrorPage
) -> bool:
    """Run ``handler`` for one request; ``False`` when the connection must close."""
    try:
        await handler(request, response)
    except ConnectionError:
        raise
    except HttpError as error:
        await _refuse(response, error, request, page)
        return False
    except Exception:
        _log.exception("handler failed on %s %s", request.method[:20], request.path[:200])
        await _refuse(response, HttpError("internal error", 500), request, page)
        return False
    if not response.finished:
        response.abort()
    return response.keep_alive


async def _next_cycle(wire: Wire, request: Request) -> bool:
    """Whether the connection can carry another request: the body is read to its end (an
    unread one is skipped, up to a bound) and both sides are done."""
    if not request._consumed:
        request._consumed = True
        if not await wire.skip_body(wire.limits.skip_bytes):
            return False
    elif not request._complete:
        return False  # read part way: the position in the stream is lost
    return wire.next_cycle()


async def _connection(wire: Wire, handler: Handler, page: ErrorPage) -> None:
    while True:
        response = ResponseWriter(wire)
        try:
            head = await wire.next_request()
            if head is None:
                return
            request = _request(head, wire)
        except HttpError as error:
            await _refuse(response, error, None, page)
            return
        response = ResponseWriter(wire, request.method)
        if not await _run(handler, request, response, page):
            return
        try:
            if not await _next_cycle(wire, request):
                return
        except HttpError:
            return  # the answer went out already; what follows it is broken


async def serve(
    handler: Handler,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    limits: Limits | None = None,
    errors: ErrorPage = plain_error,
) -> asyncio.Server:
    """Start serving ``handler`` on ``host:port`` (0 picks a free port)."""
    bounds = limits or Limits()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        wire = Wire(reader, writer, bounds)
        # A connection task cancelled at shutdown ends quietly (asyncio would log it).
        with contextlib.suppress(asyncio.CancelledError):
            try:
                await _connection(wire, handler, errors)
            except ConnectionError:
                wire.abort()
            finally:
                await wire.close()

    return await asyncio.start_server(on_connect, host, port, limit=64 * 1024)
