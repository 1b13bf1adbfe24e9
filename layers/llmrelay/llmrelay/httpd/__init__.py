"""A small asyncio HTTP/1.1 server on h11: keep-alive, pipelining, chunked bodies both
ways, trailers, and every connection bounded (:class:`Limits`: head size, timeouts for an
idle connection, a slow head, a slow body and a client that does not read, chunk count).

It is the one HTTP server of llmrelay: the local emulator (function URL front and Runtime
API), the fake upstreams of :mod:`llmrelay.testing` and the tests' fake Runtime API all
build on it, because each needs what generic frameworks hide: byte-exact control of the
wire (chunk boundaries, trailers, a cut connection) and streaming in both directions.
The parsing and framing rules are h11's, not ours: lengths, chunks, HTTP/1.0 peers,
bodiless statuses, header syntax. What a refused request gets is ``errors`` (plain text by
default; the front answers JSON).
"""

from __future__ import annotations

from llmrelay.httpd.errors import BadRequest, BodyTooLarge, HttpError, Limits, RequestTimeout
from llmrelay.httpd.messages import Headers, Request, ResponseWriter
from llmrelay.httpd.server import ErrorPage, Handler, plain_error, serve

__all__ = [
    "BadRequest",
    "BodyTooLarge",
    "ErrorPage",
    "Handler",
    "Headers",
    "HttpError",
    "Limits",
    "Request",
    "RequestTimeout",
    "ResponseWriter",
    "plain_error",
    "serve",
]
