"""The function's raw answer → the function URL's HTTP response (pure, no sockets)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Sequence

import pytest

from llmrelay.local.invocation import (
    FunctionError,
    InvocationFailed,
    RawItem,
    ResponseEnded,
    ResponseStarted,
)
from llmrelay.local.response import (
    HTTP_INTEGRATION,
    HttpItem,
    InvalidResponse,
    PreludeParser,
    ResponseDone,
    ResponseHead,
    decode_response,
    parse_buffered,
    parse_prelude,
)

PRELUDE = (
    b'{"statusCode":201,"headers":{"content-type":"text/event-stream","x-n":3},"cookies":["a=1"]}'
)
NULS = b"\0" * 8
HEAD = ResponseHead(201, (("content-type", "text/event-stream"), ("x-n", "3")), ("a=1",))


def _split_everywhere(data: bytes) -> list[list[bytes]]:
    return [[data[:i], data[i:]] for i in range(1, len(data))]


def test_a_prelude_gives_status_headers_and_cookies() -> None:
    assert parse_prelude(PRELUDE) == HEAD


def test_a_prelude_without_fields_is_a_plain_200() -> None:
    assert parse_prelude(b"{}") == ResponseHead(200)


@pytest.mark.parametrize(
    "prelude",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"[1, 2]", id="not-an-object"),
        pytest.param(b'{"statusCode": "200"}', id="status-as-text"),
        pytest.param(b'{"statusCode": 99}', id="status-out-of-range"),
        pytest.param(b'{"statusCode": true}', id="status-bool"),
        pytest.param(b'{"headers": ["a"]}', id="headers-a-list"),
        pytest.param(b'{"cookies": "a=1"}', id="cookies-a-string"),
    ],
)
def test_an_invalid_prelude_is_refused(prelude: bytes) -> None:
    with pytest.raises(InvalidResponse):
        parse_prelude(prelude)


@pytest.mark.parametrize("pieces", _split_everywhere(PRELUDE + NULS + b"data: x\n\n"))
def test_the_delimiter_is_found_wherever_the_chunks_are_cut(pieces: list[bytes]) -> None:
    parser = PreludeParser()
    found = None
    rest = b""
    for piece in pieces:
        if found is None:
            found = parser.feed(piece)
            if found is not None:
                rest = found[1]
        else:
            rest += piece
    assert found is not None
    assert found[0] == HEAD
    assert rest == b"data: x\n\n"


def test_a_stream_without_a_delimiter_is_refused_after_64_kib() -> None:
    parser = PreludeParser()
    assert parser.feed(b"{" + b" " * 1000) is None
    with pytest.raises(InvalidResponse):
        parser.feed(b" " * 64 * 1024)


@pytest.mark.parametrize(
    ("payload", "head", "body"),
    [
        pytest.param(
            b'{"statusCode": 404, "headers": {"content-type": "application/json"}, "body": "{}"}',
            ResponseHead(404, (("content-type", "application/json"),)),
            b"{}",
            id="v2-response",
        ),
        pytest.param(
            json.dumps(
                {
                    "statusCode": 200,
                    "body": base64.b64encode(b"\xff").decode(),
                    "isBase64Encoded": True,
                }
            ).encode(),
            ResponseHead(200),
            b"\xff",
            id="base64-body",
        ),
        pytest.param(
            b'{"statusCode": 204, "cookies": ["s=1"]}',
            ResponseHead(204, (), ("s=1",)),
            b"",
            id="cookies",
        ),
        pytest.param(
            b'{"hello": "world"}',
            ResponseHead(200, (("content-type", "application/json"),)),
            b'{"hello": "world"}',
            id="plain-json-served-as-is",
        ),
        pytest.param(
            b'"just a string"',
            ResponseHead(200, (("content-type", "application/json"),)),
            b'"just a string"',
            id="json-string",
        ),
    ],
)
def test_a_buffered_result_reads_like_a_function_url_reads_it(
    payload: bytes, head: ResponseHead, body: bytes
) -> None:
    assert parse_buffered(payload) == (head, body)


async def _items(raw: Sequence[RawItem]) -> AsyncIterator[RawItem]:
    for item in raw:
        yield item


async def _decode(raw: Sequence[RawItem]) -> list[HttpItem]:
    return [item async for item in decode_response(_items(raw))]


BOOM = FunctionError("Runtime.StreamError", "boom")


async def test_a_streamed_answer_gives_head_then_body_pieces_as_they_came() -> None:
    raw: list[RawItem] = [
        ResponseStarted(HTTP_INTEGRATION, streaming=True),
        PRELUDE[:10],
        PRELUDE[10:] + NULS[:3],
        NULS[3:] + b"one",
        b"two",
        ResponseEnded(),
    ]
    assert await _decode(raw) == [HEAD, b"one", b"two", ResponseDone()]


async def test_an_error_trailer_after_the_prelude_ends_the_response_with_the_error() -> None:
    raw: list[RawItem] = [
        ResponseStarted(HTTP_INTEGRATION, streaming=True),
        PRELUDE + NULS + b"x",
        ResponseEnded(BOOM),
    ]
    assert await _decode(raw) == [HEAD, b"x", ResponseDone(BOOM)]


async def test_an_error_trailer_before_the_prelude_ends_is_a_function_error() -> None:
    raw: list[RawItem] = [
        ResponseStarted(HTTP_INTEGRATION, streaming=True),
        b'{"sta',
        ResponseEnded(BOOM),
    ]
    assert await _decode(raw) == [InvocationFailed(BOOM)]


async def test_a_stream_that_ends_inside_the_prelude_is_a_function_error() -> None:
    raw: list[RawItem] = [ResponseStarted(HTTP_INTEGRATION, streaming=True), b"{}", ResponseEnded()]
    [failed] = await _decode(raw)
    assert isinstance(failed, InvocationFailed)
    assert failed.error.error_type == "Runtime.InvalidPrelude"


async def test_an_invalid_prelude_is_a_function_error_and_the_rest_is_drained() -> None:
    raw: list[RawItem] = [
        ResponseStarted(HTTP_INTEGRATION, streaming=True),
        b"nope" + NULS,
        b"more",
        ResponseEnded(),
    ]
    source = _items(raw)
    [failed] = [item async for item in decode_response(source)]
    assert isinstance(failed, InvocationFailed)
    assert failed.error.error_type == "Runtime.InvalidResponse"
    assert [item async for item in source] == []  # read to the end


async def test_a_stream_of_another_type_is_a_200_of_that_type() -> None:
    raw: list[RawItem] = [
        ResponseStarted("text/plain", streaming=True),
        b"a",
        b"b",
        ResponseEnded(),
    ]
    assert await _decode(raw) == [
        ResponseHead(200, (("content-type", "text/plain"),)),
        b"a",
        b"b",
        ResponseDone(),
    ]


async def test_a_buffered_answer_is_one_head_and_one_body() -> None:
    document = {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": '{"ok": true}',
    }
    payload = json.dumps(document).encode()
    raw: list[RawItem] = [
        ResponseStarted("application/json", streaming=False),
        payload,
        ResponseEnded(),
    ]
    assert await _decode(raw) == [
        ResponseHead(200, (("content-type", "application/json"),)),
        b'{"ok": true}',
        ResponseDone(),
    ]


async def test_an_error_before_any_response_is_passed_on() -> None:
    failed = InvocationFailed(FunctionError("ValueError", "bad"))
    assert await _decode([failed]) == [failed]


@pytest.mark.parametrize(
    ("payload", "kind", "expected"),
    [
        pytest.param(
            b'{"errorType": "ValueError", "errorMessage": "bad"}',
            "",
            "ValueError: bad",
            id="document",
        ),
        pytest.param(
            b'{"errorMessage": "bad"}',
            "Runtime.Custom",
            "Runtime.Custom: bad",
            id="header-type-wins",
        ),
        pytest.param(b"not json", "", "Runtime.Unknown: not json", id="not-json"),
        pytest.param(b"", "Runtime.X", "Runtime.X", id="empty"),
    ],
)
def test_function_errors_read_lambda_error_documents(
    payload: bytes, kind: str, expected: str
) -> None:
    assert str(FunctionError.from_payload(payload, kind)) == expected


def test_function_errors_read_the_error_trailers() -> None:
    body = base64.b64encode(b'{"errorType": "Runtime.StreamError", "errorMessage": "cut"}').decode()
    trailers = {
        "lambda-runtime-function-error-type": "Runtime.StreamError",
        "lambda-runtime-function-error-body": body,
    }
    assert FunctionError.from_trailers(trailers) == FunctionError("Runtime.StreamError", "cut")
    assert FunctionError.from_trailers({}) is None
