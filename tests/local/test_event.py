"""HTTP request → function-URL event (payload format 2.0), checked field by field."""

from __future__ import annotations

import base64
import json

import pytest

from llmrelay.local.event import IncomingRequest, build_event


def _request(**changes: object) -> IncomingRequest:
    fields: dict[str, object] = {
        "method": "POST",
        "target": "/chat",
        "headers": {
            "host": "localhost:3000",
            "user-agent": "curl/8",
            "content-type": "application/json",
        },
        "body": b'{"messages": []}',
        "source_ip": "127.0.0.1",
        "port": 3000,
        "request_id": "req-1",
        "time_epoch_ms": 1_763_726_400_000,
    }
    fields.update(changes)
    return IncomingRequest(**fields)  # type: ignore[arg-type]


def test_an_event_has_the_payload_v2_shape() -> None:
    event = build_event(_request())
    assert event["version"] == "2.0"
    assert event["routeKey"] == "$default"
    assert event["rawPath"] == "/chat"
    assert event["rawQueryString"] == ""
    assert event["body"] == '{"messages": []}'
    assert event["isBase64Encoded"] is False
    assert "cookies" not in event
    assert "queryStringParameters" not in event
    json.dumps(event)  # JSON all the way down


def test_the_request_context_describes_the_call() -> None:
    context = build_event(_request())["requestContext"]
    assert context["accountId"] == "anonymous"
    assert context["requestId"] == "req-1"
    assert context["timeEpoch"] == 1_763_726_400_000
    assert context["time"] == "21/Nov/2025:12:00:00 +0000"
    assert context["domainName"] == "localhost"
    assert context["http"] == {
        "method": "POST",
        "path": "/chat",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "curl/8",
    }


def test_headers_are_lower_case_and_carry_the_forwarding_headers() -> None:
    headers = build_event(_request(headers={"Content-Type": "text/plain", "X-Custom": "a"}))[
        "headers"
    ]
    assert headers["content-type"] == "text/plain"
    assert headers["x-custom"] == "a"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-port"] == "3000"
    assert headers["x-amzn-trace-id"].startswith("Root=1-")


def test_cookies_move_from_the_header_to_their_own_list() -> None:
    event = build_event(_request(headers={"cookie": "a=1; b=2;  c=3"}))
    assert event["cookies"] == ["a=1", "b=2", "c=3"]
    assert "cookie" not in event["headers"]


@pytest.mark.parametrize(
    ("target", "raw", "parameters"),
    [
        pytest.param("/chat?a=1&b=2", "a=1&b=2", {"a": "1", "b": "2"}, id="simple"),
        pytest.param("/chat?a=1&a=2", "a=1&a=2", {"a": "1,2"}, id="repeated-joined-by-comma"),
        pytest.param("/chat?flag=", "flag=", {"flag": ""}, id="blank-kept"),
        pytest.param(
            "/chat?q=hello%20world", "q=hello%20world", {"q": "hello world"}, id="decoded"
        ),
    ],
)
def test_the_query_is_raw_and_parsed(target: str, raw: str, parameters: dict[str, str]) -> None:
    event = build_event(_request(target=target))
    assert event["rawPath"] == "/chat"
    assert event["rawQueryString"] == raw
    assert event["queryStringParameters"] == parameters


@pytest.mark.parametrize(
    ("body", "expected", "encoded"),
    [
        pytest.param(b"plain text", "plain text", False, id="ascii"),
        pytest.param("héllo ✓".encode(), "héllo ✓", False, id="utf-8"),
        pytest.param(
            b"\xff\x00\xfe", base64.b64encode(b"\xff\x00\xfe").decode(), True, id="binary"
        ),
    ],
)
def test_a_body_that_is_not_utf8_text_is_base64(body: bytes, expected: str, encoded: bool) -> None:
    event = build_event(_request(body=body))
    assert event["body"] == expected
    assert event["isBase64Encoded"] is encoded


def test_no_body_means_no_body_field() -> None:
    event = build_event(_request(method="GET", target="/health", body=b""))
    assert "body" not in event
    assert event["isBase64Encoded"] is False
    assert event["requestContext"]["http"]["method"] == "GET"


def test_an_empty_path_is_the_root() -> None:
    assert build_event(_request(target=""))["rawPath"] == "/"
