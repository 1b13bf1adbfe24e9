"""Function-URL events (payload format 2.0) to requests, and responses back to dicts."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from llmrelay.http import HttpRequest, HttpResponse
from llmrelay.runtime.event import from_result, is_text, to_buffered, to_request

_FULL_EVENT: dict[str, Any] = {
    "version": "2.0",
    "rawPath": "/chat",
    "rawQueryString": "stream=1&x=%20y",
    "cookies": ["sid=abc", "theme=dark"],
    "headers": {"Content-Type": "application/json", "accept": "text/event-stream"},
    "requestContext": {
        "requestId": "c0ffee",
        "http": {"method": "post", "path": "/chat", "sourceIp": "203.0.113.9"},
    },
    "body": '{"messages":[]}',
    "isBase64Encoded": False,
}


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        pytest.param(
            _FULL_EVENT,
            HttpRequest(
                method="POST",
                path="/chat",
                query="stream=1&x=%20y",
                headers={"content-type": "application/json", "accept": "text/event-stream"},
                cookies=("sid=abc", "theme=dark"),
                body=b'{"messages":[]}',
                request_id="c0ffee",
                source_ip="203.0.113.9",
            ),
            id="full",
        ),
        pytest.param(
            {"body": base64.b64encode(b"\x00\xffbin").decode(), "isBase64Encoded": True},
            HttpRequest(method="GET", path="/", body=b"\x00\xffbin"),
            id="base64-body",
        ),
        pytest.param(
            {"headers": {"X-Many": "a,b", "x-list": ["1", "2"]}},
            HttpRequest(method="GET", path="/", headers={"x-many": "a,b", "x-list": "1,2"}),
            id="multi-value-headers-comma-joined",
        ),
        pytest.param(
            {"headers": {"Accept": "a", "accept": "b"}},
            HttpRequest(method="GET", path="/", headers={"accept": "a,b"}),
            id="same-header-two-cases-joined",
        ),
        pytest.param({}, HttpRequest(method="GET", path="/"), id="empty-event"),
        pytest.param(
            {"rawPath": None, "headers": None, "cookies": None, "body": None, "requestContext": 3},
            HttpRequest(method="GET", path="/"),
            id="nulls-and-junk",
        ),
        pytest.param(
            {"requestContext": {"http": {"path": "/health"}}, "body": "caf\u00e9"},
            HttpRequest(method="GET", path="/health", body="caf\u00e9".encode()),
            id="path-from-context-utf8-body",
        ),
    ],
)
def test_to_request(event: dict[str, Any], expected: HttpRequest) -> None:
    assert to_request(event) == expected


def test_to_request_rejects_a_body_marked_base64_that_is_not() -> None:
    with pytest.raises(ValueError, match="isBase64Encoded"):
        to_request({"body": "not base64!", "isBase64Encoded": True})


@pytest.mark.parametrize(
    ("content_type", "text"),
    [
        pytest.param("text/event-stream", True, id="sse"),
        pytest.param("application/json; charset=utf-8", True, id="json"),
        pytest.param("application/problem+json", True, id="json-suffix"),
        pytest.param("image/svg+xml", True, id="xml"),
        pytest.param("application/octet-stream", False, id="octet"),
        pytest.param("image/png", False, id="png"),
        pytest.param("", False, id="none"),
    ],
)
def test_is_text(content_type: str, text: bool) -> None:
    assert is_text(content_type) is text


@pytest.mark.parametrize(
    ("response", "body", "expected"),
    [
        pytest.param(
            HttpResponse(200, {"Content-Type": "application/json"}, cookies=("a=1",)),
            b'{"ok":true}',
            {
                "statusCode": 200,
                "headers": {"content-type": "application/json"},
                "cookies": ["a=1"],
                "body": '{"ok":true}',
                "isBase64Encoded": False,
            },
            id="json-text",
        ),
        pytest.param(
            HttpResponse(200, {"content-type": "image/png"}),
            b"\x89PNG",
            {
                "statusCode": 200,
                "headers": {"content-type": "image/png"},
                "cookies": [],
                "body": base64.b64encode(b"\x89PNG").decode(),
                "isBase64Encoded": True,
            },
            id="binary-base64",
        ),
        pytest.param(
            HttpResponse(200, {"content-type": "text/plain"}),
            b"\xff\xfe",
            {
                "statusCode": 200,
                "headers": {"content-type": "text/plain"},
                "cookies": [],
                "body": "//4=",
                "isBase64Encoded": True,
            },
            id="text-type-invalid-utf8",
        ),
        pytest.param(
            HttpResponse(204),
            b"",
            {"statusCode": 204, "headers": {}, "cookies": [], "body": "", "isBase64Encoded": False},
            id="empty",
        ),
    ],
)
def test_to_buffered(response: HttpResponse, body: bytes, expected: dict[str, Any]) -> None:
    assert to_buffered(response, body) == expected


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        pytest.param(
            {"statusCode": 201, "headers": {"X-A": "1"}, "body": "made", "cookies": ["c=1"]},
            HttpResponse(201, {"x-a": "1"}, b"made", ("c=1",)),
            id="response-dict",
        ),
        pytest.param(
            {
                "statusCode": 200,
                "body": base64.b64encode(b"\x00").decode(),
                "isBase64Encoded": True,
            },
            HttpResponse(200, {}, b"\x00"),
            id="base64-body",
        ),
        pytest.param({"statusCode": "204"}, HttpResponse(204, {}, b""), id="string-status-no-body"),
        pytest.param(
            {"statusCode": 200, "body": {"a": 1}},
            HttpResponse(200, {}, b'{"a": 1}'),
            id="object-body",
        ),
        pytest.param(
            {"message": "hi"},
            HttpResponse(200, {"content-type": "application/json"}, b'{"message": "hi"}'),
            id="dict-without-status-is-json",
        ),
        pytest.param(
            [1, 2],
            HttpResponse(200, {"content-type": "application/json"}, b"[1, 2]"),
            id="list-is-json",
        ),
        pytest.param(
            "plain",
            HttpResponse(200, {"content-type": "application/json"}, b"plain"),
            id="string-as-is",
        ),
        pytest.param(
            None,
            HttpResponse(200, {"content-type": "application/json"}, b"null"),
            id="none-is-null",
        ),
    ],
)
def test_from_result(result: object, expected: HttpResponse) -> None:
    assert from_result(result) == expected
