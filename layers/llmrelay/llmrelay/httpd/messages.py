"""The request a handler reads and the response it writes, over one connection's h11."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import urlsplit

import h11

from llmrelay.httpd.errors import BodyTooLarge, Limits
from llmrelay.httpd.wire import Wire

__all__ = ["Headers", "Request", "ResponseWriter", "header_dict"]

Headers = list[tuple[str, str]]
_BODILESS = frozenset({204, 304})  # never a body, so never any framing (RFC 9110 §6.4.1)
_FRAMING = frozenset({"content-length", "transfer-encoding"})


def header_dict(pairs: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """h11's (lower-case) header pairs as one dict; a repeated header is joined with commas
    (``; `` for ``cookie``), as a function URL joins them."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in pairs:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        if name in headers:
            value = headers[name] + ("; " if name == "cookie" else ",") + value
        headers[name] = value
    return headers


@dataclass
class Request:
    """One request's head, and its body to read once (:meth:`iter_body`, :meth:`read_body`)."""

    method: str
    target: str
    headers: dict[str, str]
    body: AsyncIterator[bytes] | None = field(default=None, repr=False)
    trailers: dict[str, str] = field(default_factory=dict)
    version: str = "HTTP/1.1"
    connection: object = field(default=None, repr=False)  # the same for each on one socket
    _consumed: bool = field(default=False, repr=False)
    _complete: bool = field(default=False, repr=False)

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> str:
        return urlsplit(self.target).query

    async def iter_body(self) -> AsyncIterator[bytes]:
        """The body as it arrives; :attr:`trailers` are set once it is read to the end."""
        if self._consumed:
            return
        self._consumed = True
        if self.body is not None:
            async for part in self.body:
                yield part
        self._complete = True

    async def read_body(self, limit: int | None = None) -> bytes:
        """The whole body; :class:`BodyTooLarge` past ``limit`` (a declared length over it is
        refused before anything is read)."""
        declared = self.headers.get("content-length", "")
        if limit is not None and declared.isdigit() and int(declared) > limit:
            self._consumed = True  # left unread: the connection cannot carry another request
            raise BodyTooLarge(f"the body is over {limit} bytes")
        buffer = bytearray()
        async for part in self.iter_body():
            buffer += part
            if limit is not None and len(buffer) > limit:
                raise BodyTooLarge(f"the body is over {limit} bytes")
        return bytes(buffer)


def _reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode("ascii")
    except ValueError:
        return b"Status"


class ResponseWriter:
    """Writes one response: :meth:`send` whole, or :meth:`start` / :meth:`write` /
    :meth:`end` as it is produced (each write is flushed at once). h11 picks the framing:
    chunked for HTTP/1.1, until-close for HTTP/1.0, none at all for HEAD, 1xx, 204 and 304,
    whose bodies (and trailers) are dropped here. :attr:`status` is the status sent (``None``
    until a head has gone out whole)."""

    def __init__(self, wire: Wire, method: str = "GET") -> None:
        self.wire = wire
        self._head_only = method.upper() == "HEAD"
        self._bodiless = False
        self._trailers = False
        self.started = False
        self.finished = False
        self.keep_alive = True
        self.status: int | None = None
        self.cut = False  # aborted after its head went out

    @classmethod
    def detached(cls, writer: asyncio.StreamWriter, method: str = "GET") -> ResponseWriter:
        """A writer of one response outside a server (tests, tools): an HTTP/1.1
        ``method`` request is taken as read."""
        wire = Wire(asyncio.StreamReader(), writer, Limits())
        wire.h11.receive_data(f"{method} / HTTP/1.1\r\nHost: detached\r\n\r\n".encode())
        wire.h11.next_event()
        wire.h11.next_event()
        return cls(wire, method)

    def _response(self, status: int, headers: Headers | None, length: int | None) -> h11.Response:
        self._bodiless = self._head_only or status in _BODILESS
        # Values as UTF-8: h11 takes only ASCII text, and bytes as they are.
        pairs = [
            (name.encode("ascii"), value.encode("utf-8"))
            for name, value in headers or []
            if name.lower() not in _FRAMING
        ]
        if length is not None and status not in _BODILESS:
            pairs.append((b"Content-Length", str(length).encode("ascii")))
        if not self.keep_alive:
            pairs.append((b"Connection", b"close"))
        version = self.wire.h11.their_http_version or b"1.0"
        self._trailers = length is None and not self._bodiless and version >= b"1.1"
        self.started = True
        return h11.Response(status_code=status, headers=pairs, reason=_reason(status))

    def _data(self, data: bytes) -> list[h11.Event]:
        return [h11.Data(data=data)] if data and not self._bodiless else []

    async def start(
        self, status: int, headers: Headers | None = None, *, first: bytes = b""
    ) -> None:
        """Send the head; with ``first``, the body's first bytes in the same write (one
        system call, one wake-up of the reader)."""
        await self.wire.send(self._response(status, headers, None), *self._data(first))
        self.status = status

    async def write(self, data: bytes) -> None:
        if events := self._data(data):
            await self.wire.send(*events)

    async def end(self, trailers: dict[str, str] | None = None) -> None:
        """End the body, with ``trailers`` where the framing can carry them (chunked)."""
        pairs = list((trailers or {}).items()) if self._trailers else []
        self.finished = True
        await self.wire.send(h11.EndOfMessage(headers=pairs))

    async def send(self, status: int, body: bytes = b"", headers: Headers | None = None) -> None:
        """The whole response in one write."""
        head = self._response(status, headers, len(body))
        self.finished = True
        await self.wire.send(head, *self._data(body), h11.EndOfMessage())
        self.status = status

    async def write_raw(self, data: bytes) -> None:
        """Bytes exactly as given, past h11 (fakes use it to send malformed framing); the
        response counts as finished, and the connection goes on only if the handler
        leaves ``keep_alive`` set and its request was read whole."""
        self.wire.raw = self.started = self.finished = True
        await self.wire.write(data)

    def abort(self) -> None:
        """Cut the connection now, mid-response if need be."""
        self.keep_alive = False
        self.cut = self.cut or (self.started and not self.finished)
        self.finished = True
        self.wire.abort()
