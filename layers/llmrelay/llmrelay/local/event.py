"""HTTP request → the function-URL event (API Gateway payload format version 2.0).

Pure: the front hands in what it read from the socket and gets the event a function URL
would deliver. Header names are lower-case, the ``cookie`` header moves to ``cookies``,
a body that is not UTF-8 text travels base64-encoded with ``isBase64Encoded``.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = ["IncomingRequest", "build_event"]


@dataclass(frozen=True)
class IncomingRequest:
    """What the front read: method, target (path and query), headers, body, peer."""

    method: str
    target: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    port: int = 3000
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time_epoch_ms: int = field(default_factory=lambda: int(time.time() * 1000))


def _query_parameters(raw: str) -> dict[str, str] | None:
    if not raw:
        return None
    merged: dict[str, list[str]] = {}
    for name, value in parse_qsl(raw, keep_blank_values=True):
        merged.setdefault(name, []).append(value)
    return {name: ",".join(values) for name, values in merged.items()}


def _body(body: bytes) -> tuple[str | None, bool]:
    if not body:
        return None, False
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), True


def _clf_time(epoch_ms: int) -> str:
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch_ms / 1000))


def _headers(request: IncomingRequest) -> dict[str, str]:
    headers = {k.lower(): v for k, v in request.headers.items() if k.lower() != "cookie"}
    headers.setdefault("x-forwarded-for", request.source_ip)
    headers.setdefault("x-forwarded-proto", "http")
    headers.setdefault("x-forwarded-port", str(request.port))
    trace = f"Root=1-{request.time_epoch_ms // 1000:08x}-{uuid.uuid4().hex[:24]}"
    headers.setdefault("x-amzn-trace-id", trace)
    return headers


def _context(request: IncomingRequest, path: str, host: str) -> dict[str, Any]:
    domain = host.split(":", 1)[0] or "localhost"
    return {
        "accountId": "anonymous",
        "apiId": domain.split(".", 1)[0],
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0],
        "http": {
            "method": request.method.upper(),
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": request.source_ip,
            "userAgent": request.headers.get("user-agent", ""),
        },
        "requestId": request.request_id,
        "routeKey": "$default",
        "stage": "$default",
        "time": _clf_time(request.time_epoch_ms),
        "timeEpoch": request.time_epoch_ms,
    }


def build_event(request: IncomingRequest) -> dict[str, Any]:
    """The payload v2.0 event a function URL sends for ``request``."""
    parts = urlsplit(request.target)
    path = parts.path or "/"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": parts.query,
        "headers": _headers(request),
    }
    cookie = request.headers.get("cookie", "")
    if cookie:
        event["cookies"] = [c.strip() for c in cookie.split(";") if c.strip()]
    query = _query_parameters(parts.query)
    if query is not None:
        event["queryStringParameters"] = query
    event["requestContext"] = _context(request, path, request.headers.get("host", ""))
    body, encoded = _body(request.body)
    if body is not None:
        event["body"] = body
    event["isBase64Encoded"] = encoded
    return event
