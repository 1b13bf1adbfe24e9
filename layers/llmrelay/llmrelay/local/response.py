"""The function's raw answer → the HTTP response a function URL sends.

A streamed answer with ``Content-Type: application/vnd.awslambda.http-integration-response``
starts with a JSON prelude (``statusCode``, ``headers``, ``cookies``) and 8 NUL bytes; the
rest is the body, passed on as it arrives. A buffered answer follows the payload v2.0
response format, or is plain JSON served as ``application/json``. Pure: no sockets.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from llmrelay.local.invocation import (
    FunctionError,
    InvocationFailed,
    RawItem,
    ResponseEnded,
    ResponseStarted,
)

__all__ = [
    "HTTP_INTEGRATION",
    "HttpItem",
    "InvalidResponse",
    "PreludeParser",
    "ResponseDone",
    "ResponseHead",
    "decode_response",
    "parse_buffered",
    "parse_prelude",
]

HTTP_INTEGRATION = "application/vnd.awslambda.http-integration-response"
_DELIMITER = b"\0" * 8
_MAX_PRELUDE = 64 * 1024
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FIELD_VALUE = re.compile(r"[^\x00-\x08\x0a-\x1f\x7f]*")  # no CR, LF, NUL or other controls


@dataclass(frozen=True)
class ResponseHead:
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    cookies: tuple[str, ...] = ()

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


@dataclass(frozen=True)
class ResponseDone:
    """The body is complete; ``error`` is set when the function failed mid-stream."""

    error: FunctionError | None = None


HttpItem = ResponseHead | bytes | ResponseDone | InvocationFailed


class InvalidResponse(ValueError):
    """The function's answer does not follow the function-URL response format."""


def _head(document: Any) -> ResponseHead:
    if not isinstance(document, dict):
        raise InvalidResponse("the prelude is not a JSON object")
    status = document.get("statusCode", 200)
    headers = document.get("headers") or {}
    cookies = document.get("cookies") or []
    if not isinstance(status, int) or isinstance(status, bool) or not 200 <= status <= 599:
        raise InvalidResponse(f"invalid statusCode {status!r}")
    if not isinstance(headers, dict) or not isinstance(cookies, list):
        raise InvalidResponse("headers must be an object and cookies a list")
    pairs = tuple((str(k), _header_value(v)) for k, v in headers.items())
    cookie_values = tuple(str(c) for c in cookies)
    for name, value in (*pairs, *(("set-cookie", c) for c in cookie_values)):
        if not _TOKEN.fullmatch(name) or not _FIELD_VALUE.fullmatch(value):
            raise InvalidResponse(f"header {name[:40]!r} cannot travel in HTTP/1.1")
    return ResponseHead(status, pairs, cookie_values)


def _header_value(value: Any) -> str:
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def parse_prelude(data: bytes) -> ResponseHead:
    """The head described by one JSON prelude (without the NUL delimiter)."""
    try:
        return _head(json.loads(data))
    except ValueError as exc:
        raise InvalidResponse(f"invalid prelude: {exc}") from exc


class PreludeParser:
    """Feed the streamed bytes; :meth:`feed` returns the head and the first body bytes
    once the 8 NUL bytes have arrived (they may be split across chunks)."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> tuple[ResponseHead, bytes] | None:
        self._buffer += data
        prelude, found, rest = self._buffer.partition(_DELIMITER)
        if not found:
            if len(self._buffer) > _MAX_PRELUDE:
                raise InvalidResponse("no prelude delimiter in the first 64 KiB")
            return None
        return parse_prelude(prelude), rest


def parse_buffered(payload: bytes) -> tuple[ResponseHead, bytes]:
    """A buffered result as a function URL reads it (payload format 2.0)."""
    try:
        document = json.loads(payload) if payload else None
    except ValueError:
        document = None
    if not isinstance(document, dict) or "statusCode" not in document:
        return ResponseHead(200, (("content-type", "application/json"),)), payload
    head = _head(document)
    body = document.get("body") or ""
    if not isinstance(body, str):
        body = json.dumps(body)
    if document.get("isBase64Encoded"):
        try:
            return head, base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidResponse("isBase64Encoded body is not base64") from exc
    return head, body.encode("utf-8")


async def _drain(items: AsyncIterator[RawItem]) -> None:
    async for _ in items:
        pass


async def _buffered(items: AsyncIterator[RawItem]) -> AsyncIterator[HttpItem]:
    parts: list[bytes] = []
    async for item in items:
        if isinstance(item, bytes):
            parts.append(item)
        elif isinstance(item, InvocationFailed | ResponseEnded):
            break
    head, body = parse_buffered(b"".join(parts))
    yield head
    yield body
    yield ResponseDone()


def _terminal(item: InvocationFailed | ResponseEnded, *, head_sent: bool) -> HttpItem:
    if head_sent:
        return ResponseDone(item.error)
    message = "the stream ended before the prelude delimiter"
    return InvocationFailed(item.error or FunctionError("Runtime.InvalidPrelude", message))


async def decode_response(items: AsyncIterator[RawItem]) -> AsyncIterator[HttpItem]:
    """Head, body pieces and :class:`ResponseDone`, or one :class:`InvocationFailed`
    before any head. The raw items are always read to the end, so the function is
    never left blocked on a response nobody reads.

    A streamed body is passed on from this generator's own loop, not through a nested
    one: each chunk crosses one generator on its way to the client, not two."""
    try:
        first = await anext(items, None)
        if isinstance(first, InvocationFailed):
            yield first
            return
        if not isinstance(first, ResponseStarted):
            return
        if not first.streaming:
            async for out in _buffered(items):
                yield out
            return
        parser = PreludeParser() if first.content_type == HTTP_INTEGRATION else None
        if parser is None:
            yield ResponseHead(200, (("content-type", first.content_type),))
        async for item in items:
            if isinstance(item, bytes):
                if parser is None:
                    yield item
                elif (found := parser.feed(item)) is not None:
                    parser = None
                    yield found[0]
                    if found[1]:
                        yield found[1]
            elif isinstance(item, InvocationFailed | ResponseEnded):
                yield _terminal(item, head_sent=parser is None)
                return
    except InvalidResponse as exc:
        await _drain(items)
        yield InvocationFailed(FunctionError("Runtime.InvalidResponse", str(exc)))
