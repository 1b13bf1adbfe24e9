"""The request a handler reads and the response it writes, over one connection's wire."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import urlsplit

from llmrelay.httpd.errors import BodyTooLarge, Limits
from llmrelay.httpd.wire import Head, Wire

__all__ = ["Headers", "ProtocolError", "Request", "ResponseWriter", "header_dict"]

Headers = list[tuple[str, str]]
_BODILESS = frozenset({204, 304})  # never a body, so never any framing (RFC 9110 §6.4.1)
_FRAMING = frozenset({"content-length", "transfer-encoding"})


def header_dict(pairs: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """The parser's (lower-case) header pairs as one dict; a repeated header is joined with commas
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


class ProtocolError(ValueError):
    """A header this server will not send (a name that is not a token, a value with a
    line break or a control character): a bug in the handler, never the client's."""


_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VALUE = re.compile(rb"[^\x00-\x08\x0a-\x1f\x7f]*")  # no CR, LF, NUL or other controls


def _field(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode("ascii", "replace"), value.encode("utf-8").strip(b" \t")
    if not _TOKEN.fullmatch(raw_name) or not _VALUE.fullmatch(raw_value):
        raise ProtocolError(f"a header that cannot be sent: {name[:40]!r}")
    return raw_name + b": " + raw_value + b"\r\n"


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class ResponseWriter:
    """Writes one response: :meth:`send` whole, or :meth:`start` / :meth:`write` /
    :meth:`end` as it is produced (each write is flushed at once). The framing follows
    RFC 9112: chunked for HTTP/1.1, until-close for HTTP/1.0, none at all for HEAD, 204 and
    304, whose bodies (and trailers) are dropped here. :attr:`status` is the status sent
    (``None`` until a head has gone out whole)."""

    def __init__(self, wire: Wire, method: str = "GET") -> None:
        self.wire = wire
        self._head_only = method.upper() == "HEAD"
        self._bodiless = False
        self._chunked = False
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
        wire.head = Head(method, "/", [(b"host", b"detached")], "1.1", keep_alive=True)
        wire.request_done = True
        return cls(wire, method)

    def _response(self, status: int, headers: Headers | None, length: int | None) -> bytes:
        """The head's bytes; sets the framing of the body that follows."""
        self._bodiless = self._head_only or status in _BODILESS
        request = self.wire.head
        version = request.version if request is not None else "1.0"
        keep = self.keep_alive and request is not None and request.keep_alive
        lines = [b"HTTP/1.1 %d %s\r\n" % (status, _reason(status))]
        lines += [_field(k, v) for k, v in headers or [] if k.lower() not in _FRAMING]
        if status in _BODILESS:
            pass  # no framing at all (RFC 9110 §8.6, §6.4.1)
        elif length is not None:
            lines.append(b"Content-Length: %d\r\n" % length)
        elif version == "1.1":
            lines.append(b"Transfer-Encoding: chunked\r\n")
            self._chunked = not self._bodiless
        else:
            keep = False  # HTTP/1.0: the body ends when the connection does
        if not keep:
            self.keep_alive = False
            lines.append(b"Connection: close\r\n")
        lines.append(b"\r\n")
        self.started = True
        return b"".join(lines)

    def _data(self, data: bytes) -> bytes:
        if not data or self._bodiless:
            return b""
        return _chunk(data) if self._chunked else data

    async def start(
        self, status: int, headers: Headers | None = None, *, first: bytes = b""
    ) -> None:
        """Send the head; with ``first``, the body's first bytes in the same write (one
        system call, one wake-up of the reader)."""
        await self.wire.write(self._response(status, headers, None) + self._data(first))
        self.status = status

    async def write(self, data: bytes) -> None:
        if framed := self._data(data):
            await self.wire.write(framed)

    async def end(self, trailers: dict[str, str] | None = None) -> None:
        """End the body, with ``trailers`` where the framing can carry them (chunked)."""
        self.finished = self.wire.response_done = True
        if self._chunked:
            fields = [_field(k, v) for k, v in (trailers or {}).items()]
            await self.wire.write(b"0\r\n" + b"".join(fields) + b"\r\n")

    async def send(self, status: int, body: bytes = b"", headers: Headers | None = None) -> None:
        """The whole response in one write."""
        head = self._response(status, headers, len(body))
        self.finished = self.wire.response_done = True
        await self.wire.write(head + (b"" if self._bodiless else body))
        self.status = status

    async def write_raw(self, data: bytes) -> None:
        """Bytes exactly as given, unframed (fakes use it to send malformed framing); the
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
