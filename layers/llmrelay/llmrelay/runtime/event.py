"""Pure translation between Lambda's HTTP payloads and :mod:`llmrelay.http`.

In: a function-URL event (API Gateway payload format 2.0) becomes an
:class:`~llmrelay.http.HttpRequest`. Out: an :class:`~llmrelay.http.HttpResponse` with its
body collected becomes the buffered response dict of the same format, and the dict a plain
(non-streaming) handler returns becomes an :class:`~llmrelay.http.HttpResponse`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from llmrelay.http import HttpRequest, HttpResponse

__all__ = ["from_result", "is_text", "to_buffered", "to_request"]

_TEXT_MARKERS = ("json", "xml", "javascript", "x-www-form-urlencoded", "yaml", "graphql")


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _headers(raw: object) -> dict[str, str]:
    """Lower-case names; a list of values is joined with commas, as function URLs do."""
    headers: dict[str, str] = {}
    for name, value in _mapping(raw).items():
        text = ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
        key = str(name).lower()
        headers[key] = f"{headers[key]},{text}" if key in headers else text
    return headers


def _body(raw: object, encoded: bool) -> bytes:
    if raw is None:
        return b""
    text = str(raw)
    if not encoded:
        return text.encode()
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ValueError("event body is marked isBase64Encoded but is not base64") from exc


def to_request(event: Mapping[str, Any]) -> HttpRequest:
    """The request a function-URL event describes; absent fields take neutral defaults."""
    context = _mapping(event.get("requestContext"))
    http = _mapping(context.get("http"))
    return HttpRequest(
        method=str(http.get("method") or "GET").upper(),
        path=str(event.get("rawPath") or http.get("path") or "/"),
        query=str(event.get("rawQueryString") or ""),
        headers=_headers(event.get("headers")),
        cookies=tuple(str(c) for c in event.get("cookies") or ()),
        body=_body(event.get("body"), bool(event.get("isBase64Encoded"))),
        request_id=str(context.get("requestId") or ""),
        source_ip=str(http.get("sourceIp") or ""),
        caller=_iam_caller(context),
    )


def _iam_caller(context: Mapping[str, Any]) -> str:
    """Under ``AWS_IAM`` the URL names the signed caller: ``iam:<arn>`` (else ``""``)."""
    iam = _mapping(_mapping(context.get("authorizer")).get("iam"))
    principal = iam.get("userArn") or iam.get("callerId")
    return f"iam:{principal}" if principal else ""


def is_text(content_type: str) -> bool:
    """Whether a body of this type is sent as text (else base64) in a buffered response."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith("text/") or any(m in media for m in _TEXT_MARKERS)


def to_buffered(response: HttpResponse, body: bytes) -> dict[str, Any]:
    """The API Gateway v2 response dict: text bodies as-is, anything else base64."""
    headers = {k.lower(): v for k, v in response.headers.items()}
    text: str | None = None
    if not body:
        text = ""
    elif is_text(headers.get("content-type", "")):
        try:
            text = body.decode()
        except UnicodeDecodeError:
            text = None
    return {
        "statusCode": response.status,
        "headers": headers,
        "cookies": list(response.cookies),
        "body": text if text is not None else base64.b64encode(body).decode("ascii"),
        "isBase64Encoded": text is None,
    }


def from_result(result: object) -> HttpResponse:
    """What a function URL makes of a plain handler's return value: a dict with
    ``statusCode`` is a response; anything else is a 200 JSON body."""
    if isinstance(result, Mapping) and "statusCode" in result:
        raw = result.get("body")
        encoded = bool(result.get("isBase64Encoded"))
        return HttpResponse(
            status=int(result["statusCode"]),
            headers=_headers(result.get("headers")),
            body=_body(raw, encoded) if isinstance(raw, str) else _json_or_empty(raw),
            cookies=tuple(str(c) for c in result.get("cookies") or ()),
        )
    body = result.encode() if isinstance(result, str) else json.dumps(result).encode()
    return HttpResponse(200, {"content-type": "application/json"}, body)


def _json_or_empty(raw: object) -> bytes:
    return b"" if raw is None else json.dumps(raw).encode()
