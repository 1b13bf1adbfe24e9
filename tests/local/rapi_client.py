"""Runtime API calls for the emulator's protocol tests: plain calls with ``http.client``;
streamed responses as raw bytes, because no stdlib or httpx client sends trailers and the
tests must control every byte of the chunk framing (as the runtime loop does by hand)."""

from __future__ import annotations

import asyncio
import http.client
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BASE", "Reply", "call", "chunked", "send_raw"]

BASE = "/2018-06-01/runtime"
_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)


async def _read_reply(reader: asyncio.StreamReader) -> Reply:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in filter(None, lines):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Reply(int(status_line.split(" ")[1]), headers, body)


async def send_raw(address: str, data: bytes) -> Reply:
    """Send ``data`` as is and read one reply (``Content-Length`` bodies only)."""
    host, _, port = address.rpartition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(_read_reply(reader), _TIMEOUT_S)
    finally:
        writer.close()


def _call(address: str, method: str, path: str, body: bytes, headers: dict[str, str]) -> Reply:
    host, _, port = address.rpartition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=_TIMEOUT_S)
    try:
        connection.request(method, f"{BASE}{path}", body=body or None, headers=headers)
        answer = connection.getresponse()
        data = answer.read()
        return Reply(answer.status, {k.lower(): v for k, v in answer.getheaders()}, data)
    finally:
        connection.close()


async def call(
    address: str,
    method: str,
    path: str,
    body: bytes = b"",
    headers: Sequence[tuple[str, str]] = (),
) -> Reply:
    """One plain call with ``http.client`` (in a thread: the emulator runs on this loop)."""
    return await asyncio.to_thread(_call, address, method, path, body, dict(headers))


def chunked(
    path: str,
    chunks: Sequence[bytes],
    *,
    trailers: Sequence[tuple[str, str]] = (),
    mode: str = "streaming",
) -> bytes:
    """A streamed ``/response`` request as the runtime loop frames it."""
    head = [
        f"POST {BASE}{path} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Lambda-Runtime-Function-Response-Mode: {mode}",
        "Transfer-Encoding: chunked",
        "Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body",
        "Content-Type: application/vnd.awslambda.http-integration-response",
    ]
    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks)
    tail = "".join(f"{name}: {value}\r\n" for name, value in trailers)
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body + b"0\r\n" + tail.encode() + b"\r\n"
