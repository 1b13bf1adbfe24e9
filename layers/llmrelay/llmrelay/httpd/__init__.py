"""A small asyncio HTTP/1.1 server on httptools: keep-alive, pipelining, chunked bodies both
ways, trailers, and every connection bounded (:class:`Limits`: head size, timeouts for an
idle connection, a slow head, a slow body and a client that does not read, chunk count).

It is the one HTTP server of llmrelay: the local emulator (function URL front and Runtime
API), the fake upstreams of :mod:`llmrelay.testing` and the tests' fake Runtime API all
build on it, because each needs what generic frameworks hide: byte-exact control of the
wire (chunk boundaries, trailers, a cut connection) and streaming in both directions.
The parsing is llhttp's (httptools, the parser of Node.js), not ours: lengths, chunks,
HTTP/1.0 peers, header syntax; the framing of the answers follows RFC 9112 (chunked, or
until close for HTTP/1.0, none for HEAD, 204 and 304). What a refused request gets is
``errors`` (plain text by default; the front answers JSON).
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
