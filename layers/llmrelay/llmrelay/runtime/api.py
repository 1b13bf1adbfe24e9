"""A client of the Lambda Runtime API over asyncio streams.

``/next``, ``/error``, ``/init/error`` and SnapStart's ``/restore/next`` and
``/restore/error`` share one kept-alive connection. A streamed
response takes that connection over and closes it once Lambda has answered, as the AWS
guide for streaming custom runtimes asks; the next call opens a fresh one (on loopback).

h11 frames every request head and plain body and parses every reply (lengths, chunks,
until-close bodies, keep-alive). One thing stays hand-written: the chunks of a streamed
response body and its last chunk with the error trailers (:mod:`llmrelay.runtime.framing`).
The stdlib's ``http.client`` and httpx cannot send trailers at all; h11 can, but its
``send(Data(...))`` costs about 13 times the CPU of ``b"%x\r\n%s\r\n"`` (14 µs against
1 µs a chunk on the development machine), and that is paid on every token of every stream,
where llmrelay's whole budget is about 50 µs a chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import h11

from llmrelay.runtime.framing import ERROR_TYPE_HEADER, LAST_CHUNK, STREAMING_HEADERS, chunk

__all__ = ["Invocation", "Reply", "ResponseStream", "RuntimeApi", "RuntimeApiError"]

_BASE = "/2018-06-01/runtime"
_USER_AGENT = "llmrelay-runtime"
_REPLY_TIMEOUT = 30.0
_LIMIT = 1024 * 1024
_FLUSH_BYTES = 64 * 1024  # written parts leave at once past this (see ResponseStream)

_READ_BYTES = 64 * 1024

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class RuntimeApiError(Exception):
    """The Runtime API answered what the runtime cannot recover from."""

    def __init__(self, what: str, status: int, body: bytes = b"") -> None:
        super().__init__(what, status, body)
        self.what = what
        self.status = status
        self.body = body

    def __str__(self) -> str:
        detail = self.body[:200].decode("utf-8", "replace")
        return f"{self.what}: Runtime API answered {self.status} {detail}".rstrip()


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def keep_alive(self) -> bool:
        return self.headers.get("connection", "").lower() != "close"


@dataclass(frozen=True, slots=True)
class Invocation:
    """One event from ``/next`` with the headers that describe it."""

    request_id: str
    body: bytes
    deadline_ms: int = 0
    function_arn: str = ""
    trace_id: str | None = None

    @classmethod
    def from_reply(cls, reply: Reply) -> Invocation:
        request_id = reply.headers.get("lambda-runtime-aws-request-id", "")
        if reply.status != 200 or not request_id:
            raise RuntimeApiError("next invocation", reply.status, reply.body)
        deadline = reply.headers.get("lambda-runtime-deadline-ms", "0")
        return cls(
            request_id=request_id,
            body=reply.body,
            deadline_ms=int(deadline) if deadline.isdigit() else 0,
            function_arn=reply.headers.get("lambda-runtime-invoked-function-arn", ""),
            trace_id=reply.headers.get("lambda-runtime-trace-id") or None,
        )


def _framed(
    method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes = b""
) -> tuple[h11.Connection, bytes]:
    """An h11 client connection that has sent this request, and the request's bytes (the
    head only when the body is streamed: ``Transfer-Encoding: chunked`` in ``headers``)."""
    client = h11.Connection(h11.CLIENT, max_incomplete_event_size=_LIMIT)
    pairs = list(headers)
    events: list[h11.Event] = [h11.Request(method=method, target=target, headers=pairs)]
    if not any(name.lower() == "transfer-encoding" for name, _ in pairs):
        events += [h11.Data(data=body)] if body else []
        events.append(h11.EndOfMessage())
    return client, b"".join(client.send(event) or b"" for event in events)


async def _read_reply(reader: asyncio.StreamReader, client: h11.Connection) -> Reply:
    """The reply to the request ``client`` sent; :class:`RuntimeApiError` when it is not
    HTTP, ``IncompleteReadError`` when the connection ends first."""
    status, headers, parts = 0, {}, []
    while True:
        try:
            event = client.next_event()
        except h11.RemoteProtocolError as exc:
            if client.trailing_data[1]:  # the connection ended part way
                raise asyncio.IncompleteReadError(b"", None) from None
            raise RuntimeApiError("reply", status, str(exc).encode()) from None
        if event is h11.NEED_DATA:
            client.receive_data(await reader.read(_READ_BYTES))  # b"": the end
        elif isinstance(event, h11.Response):
            status = event.status_code
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in event.headers}
        elif isinstance(event, h11.Data):
            parts.append(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
            break  # (1xx answers are skipped; trailers carry nothing the runtime needs)
    if client.our_state is not h11.DONE or client.their_state is not h11.DONE:
        headers["connection"] = "close"  # until-close body, or h11 will not reuse it
    return Reply(status, headers, b"".join(parts))


def _close(connection: Connection | None) -> None:
    if connection is not None:
        with contextlib.suppress(Exception):
            connection[1].close()


class ResponseStream:
    """One streamed ``/response``: :meth:`write` frames parts for sending, :meth:`finish`
    ends the body (plainly or with error trailers) and returns Lambda's status.

    Sends follow the event loop's turns (a turn ends when the app's task waits for
    something). The first turn's writes leave together when it ends, with the request
    head: the prelude, the opening frames and the first token, which the app has in hand
    at once, reach the client in one piece. After that, the first write of a turn leaves
    at once, so a lone token costs no wait for the loop to come round, and what the same
    turn writes after it is held until the turn ends: the frames an upstream delivered in
    one read cost one system call, one wake-up of the reader and one chunk, not one of
    each per frame. Past :data:`_FLUSH_BYTES` held parts leave at once.
    """

    def __init__(
        self, connection: Connection, head: bytes, client: h11.Connection | None = None
    ) -> None:
        self._reader, self._writer = connection
        self._client = client or _framed("POST", "/", [("Host", "-"), *STREAMING_HEADERS])[0]
        self._head = head  # the request head leaves with the first bytes of the body
        self._parts: list[bytes] = []  # written, not sent: they leave as one chunk
        self._size = 0
        self._turn: asyncio.Handle | None = None  # set while this turn has sent

    async def write(self, *parts: bytes) -> None:
        for part in parts:
            if part:
                self._parts.append(part)
                self._size += len(part)
        if self._turn is None:
            if not self._head:  # (the first turn holds its writes until it ends)
                self._send()
            self._turn = asyncio.get_running_loop().call_soon(self._end_turn)
        elif self._size >= _FLUSH_BYTES:
            self._send()
        await self._writer.drain()

    def _end_turn(self) -> None:
        self._turn = None
        self._send()

    def _send(self, end: bytes = b"") -> None:
        body = chunk(b"".join(self._parts)) if self._parts else b""
        if self._head or body or end:
            self._writer.write(self._head + body + end)
            self._head = b""
            self._parts.clear()
            self._size = 0

    def _flush(self, end: bytes = b"") -> None:
        if self._turn is not None:
            self._turn.cancel()
            self._turn = None
        self._send(end)

    async def finish(self, end: bytes = LAST_CHUNK) -> Reply:
        self._flush(end)
        await self._writer.drain()
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation.
        async with asyncio.timeout(_REPLY_TIMEOUT):
            return await _read_reply(self._reader, self._client)

    def close(self) -> None:
        if self._turn is not None:
            self._turn.cancel()
            self._turn = None
        self._parts.clear()
        _close((self._reader, self._writer))


class RuntimeApi:
    """The Runtime API at ``address`` (``host:port``, as in ``AWS_LAMBDA_RUNTIME_API``)."""

    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        self.address = address
        self._host = host.strip("[]") or "127.0.0.1"
        self._port = int(port)
        self._connection: Connection | None = None

    async def next_invocation(self) -> Invocation:
        return Invocation.from_reply(await self._request("GET", f"{_BASE}/invocation/next"))

    async def post_error(self, request_id: str, kind: str, error_json: bytes) -> Reply:
        path = f"{_BASE}/invocation/{request_id}/error"
        return await self._request("POST", path, error_json, kind)

    async def post_init_error(self, kind: str, error_json: bytes) -> Reply:
        return await self._request("POST", f"{_BASE}/init/error", error_json, kind)

    async def restore_next(self) -> Reply:
        """SnapStart's ``restore/next``: pending while the snapshot is taken, answered (200)
        in each environment restored from it."""
        reply = await self._request("GET", f"{_BASE}/restore/next")
        if reply.status != 200:
            raise RuntimeApiError("restore next", reply.status, reply.body)
        return reply

    async def post_restore_error(self, kind: str, error_json: bytes) -> Reply:
        """An after-restore hook failed (SnapStart)."""
        return await self._request("POST", f"{_BASE}/restore/error", error_json, kind)

    async def open_response(self, request_id: str) -> ResponseStream:
        """A streamed response for ``request_id``; nothing is sent before its first write."""
        target = f"{_BASE}/invocation/{request_id}/response"
        client, head = _framed("POST", target, [*self._common(), *STREAMING_HEADERS])
        connection = await self._connect()
        self._connection = None  # the stream owns (and closes) this connection now
        return ResponseStream(connection, head, client)

    def close(self) -> None:
        _close(self._connection)
        self._connection = None

    def _common(self) -> list[tuple[str, str]]:
        return [("Host", self.address), ("User-Agent", _USER_AGENT)]

    async def _connect(self) -> Connection:
        """The kept-alive connection, or a new one when there is none or it was closed."""
        if self._connection is not None:
            reader, writer = self._connection
            if not reader.at_eof() and not writer.is_closing():
                return self._connection
            self.close()
        self._connection = await asyncio.open_connection(self._host, self._port, limit=_LIMIT)
        return self._connection

    async def _request(self, method: str, path: str, body: bytes = b"", kind: str = "") -> Reply:
        headers = self._common()
        if method == "POST":
            headers += [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        if kind:
            headers.append((ERROR_TYPE_HEADER, kind))
        reader, writer = await self._connect()
        client, data = _framed(method, path, headers, body)
        try:
            writer.write(data)
            await writer.drain()
            reply = await _read_reply(reader, client)
        except BaseException:
            self.close()  # half a request or reply on it: the connection is unusable
            raise
        if not reply.keep_alive:
            self.close()
        return reply
