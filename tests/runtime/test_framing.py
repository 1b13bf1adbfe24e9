"""The pure framing of a streamed response: exact bytes, no I/O."""

from __future__ import annotations

import base64
import json

import pytest

from llmrelay.runtime import framing


@pytest.mark.parametrize(
    ("status", "headers", "cookies", "expected"),
    [
        pytest.param(
            200,
            {"content-type": "text/event-stream"},
            (),
            b'{"statusCode":200,"headers":{"content-type":"text/event-stream"},"cookies":[]}',
            id="sse",
        ),
        pytest.param(
            404,
            {},
            ("a=1; Path=/", "b=2"),
            b'{"statusCode":404,"headers":{},"cookies":["a=1; Path=/","b=2"]}',
            id="cookies-no-headers",
        ),
        pytest.param(
            200,
            {"x-note": "caf\u00e9"},
            [],
            b'{"statusCode":200,"headers":{"x-note":"caf\\u00e9"},"cookies":[]}',
            id="non-ascii-escaped",
        ),
    ],
)
def test_prelude_is_compact_json_then_eight_nuls(
    status: int, headers: dict[str, str], cookies: tuple[str, ...], expected: bytes
) -> None:
    assert framing.prelude(status, headers, cookies) == expected + b"\0" * 8


def test_prelude_never_contains_the_separator_early() -> None:
    raw = framing.prelude(200, {"x": "\0" * 8}, ())
    assert raw.index(framing.SEPARATOR) == len(raw) - 8


@pytest.mark.parametrize(
    ("data", "frame"),
    [
        pytest.param(b"hello", b"5\r\nhello\r\n", id="short"),
        pytest.param(b"x" * 26, b"1a\r\n" + b"x" * 26 + b"\r\n", id="hex-size"),
        pytest.param(b"\r\n", b"2\r\n\r\n\r\n", id="crlf-payload"),
        pytest.param(b"", b"", id="empty-is-nothing"),
    ],
)
def test_chunk_frames(data: bytes, frame: bytes) -> None:
    assert framing.chunk(data) == frame


def test_error_end_carries_both_trailers_and_a_base64_error_body() -> None:
    error = b'{"errorType":"ValueError","errorMessage":"boom","stackTrace":[]}'
    encoded = base64.b64encode(error)
    assert framing.error_end("Function.ValueError", error) == (
        b"0\r\n"
        b"Lambda-Runtime-Function-Error-Type: Function.ValueError\r\n"
        b"Lambda-Runtime-Function-Error-Body: " + encoded + b"\r\n"
        b"\r\n"
    )
    assert json.loads(base64.b64decode(encoded))["errorMessage"] == "boom"


@pytest.mark.parametrize(
    ("name", "category", "expected"),
    [
        pytest.param("ValueError", "Function", "Function.ValueError", id="class-name"),
        pytest.param("Bad\r\nInjected: 1", "Function", "Function.BadInjected1", id="no-crlf"),
        pytest.param("\u00e9\u00e9", "Runtime", "Runtime.Unknown", id="nothing-left"),
    ],
)
def test_error_type_is_a_header_safe_token(name: str, category: str, expected: str) -> None:
    assert framing.error_type(name, category) == expected


def test_streaming_headers_are_exactly_what_lambda_expects() -> None:
    assert dict(framing.STREAMING_HEADERS) == {
        "Lambda-Runtime-Function-Response-Mode": "streaming",
        "Transfer-Encoding": "chunked",
        "Trailer": "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body",
        "Content-Type": "application/vnd.awslambda.http-integration-response",
    }


def test_request_head() -> None:
    head = framing.request_head("GET", "/2018-06-01/runtime/invocation/next", [("Host", "h:1")])
    assert head == b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: h:1\r\n\r\n"
