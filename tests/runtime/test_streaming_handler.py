"""``StreamingHandler`` called the ordinary buffered way (``sam local invoke``, the managed
runtime without the wrapper): the app's whole body comes back in one response dict."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest

from llmrelay.http import HttpRequest, HttpResponse, InvocationContext
from llmrelay.runtime import LambdaContext, StreamingHandler, streaming_handler

CONTEXT = LambdaContext("req-1")
EVENT: dict[str, Any] = {
    "rawPath": "/echo",
    "rawQueryString": "q=1",
    "headers": {"content-type": "text/plain"},
    "requestContext": {"http": {"method": "POST"}},
    "body": "hi",
}


async def _parts(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        await asyncio.sleep(0)
        yield part


async def echo_app(request: HttpRequest, context: InvocationContext) -> HttpResponse:
    text = f"{request.method} {request.path}?{request.query} {request.body.decode()}"
    return HttpResponse(200, {"content-type": "text/plain"}, text.encode())


async def sse_app(request: HttpRequest, context: InvocationContext) -> HttpResponse:
    body = _parts(b"event: meta\ndata: {}\n\n", b"", b"event: done\ndata: {}\n\n")
    return HttpResponse(200, {"content-type": "text/event-stream"}, body, ("sid=1",))


async def binary_app(request: HttpRequest, context: InvocationContext) -> HttpResponse:
    return HttpResponse(200, {"content-type": "application/octet-stream"}, _parts(b"\x00", b"\xff"))


@pytest.mark.parametrize(
    ("app", "expected"),
    [
        pytest.param(
            echo_app,
            {
                "statusCode": 200,
                "headers": {"content-type": "text/plain"},
                "cookies": [],
                "body": "POST /echo?q=1 hi",
                "isBase64Encoded": False,
            },
            id="bytes-body",
        ),
        pytest.param(
            sse_app,
            {
                "statusCode": 200,
                "headers": {"content-type": "text/event-stream"},
                "cookies": ["sid=1"],
                "body": "event: meta\ndata: {}\n\nevent: done\ndata: {}\n\n",
                "isBase64Encoded": False,
            },
            id="streamed-body-collected",
        ),
        pytest.param(
            binary_app,
            {
                "statusCode": 200,
                "headers": {"content-type": "application/octet-stream"},
                "cookies": [],
                "body": base64.b64encode(b"\x00\xff").decode(),
                "isBase64Encoded": True,
            },
            id="binary-base64",
        ),
    ],
)
def test_buffered_call_returns_the_api_gateway_v2_dict(app: Any, expected: dict[str, Any]) -> None:
    handler = streaming_handler(app)
    try:
        assert handler(EVENT, CONTEXT) == expected
    finally:
        handler.close()


def test_buffered_calls_reuse_one_private_event_loop() -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    async def app(request: HttpRequest, context: InvocationContext) -> HttpResponse:
        loops.append(asyncio.get_running_loop())
        return HttpResponse(204)

    handler = StreamingHandler(app)
    for _ in range(3):
        assert handler(EVENT, CONTEXT)["statusCode"] == 204
    assert len(set(map(id, loops))) == 1
    assert not loops[0].is_closed()
    handler.close()
    assert loops[0].is_closed()


def _app_leaving_a_generator_open(finalized: list[str], kept: list[AsyncIterator[int]]) -> Any:
    """An app that leaves an async generator suspended on the loop, as an SDK's stream
    decoder can be; only the loop's async-generator hooks know it is still open."""

    async def pending() -> AsyncIterator[int]:
        try:
            yield 1
            yield 2
        finally:
            finalized.append("closed")

    async def app(request: HttpRequest, context: InvocationContext) -> HttpResponse:
        generator = pending()
        await generator.__anext__()
        kept.append(generator)
        return HttpResponse(204)

    return app


def test_close_finishes_generators_left_open_on_the_private_loop() -> None:
    finalized: list[str] = []
    kept: list[AsyncIterator[int]] = []
    handler = StreamingHandler(_app_leaving_a_generator_open(finalized, kept))
    assert handler(EVENT, CONTEXT)["statusCode"] == 204
    assert finalized == []
    handler.close()
    assert finalized == ["closed"]


async def test_close_finishes_open_generators_even_when_called_inside_a_running_loop() -> None:
    finalized: list[str] = []
    kept: list[AsyncIterator[int]] = []
    handler = StreamingHandler(_app_leaving_a_generator_open(finalized, kept))
    # The buffered way runs its own loop, so from async code it is called in a thread.
    answer = await asyncio.to_thread(handler, EVENT, CONTEXT)
    assert answer["statusCode"] == 204
    handler.close()
    assert finalized == ["closed"]


def test_buffered_call_raises_the_app_error_and_closes_the_body() -> None:
    closed: list[bool] = []

    async def failing() -> AsyncIterator[bytes]:
        try:
            yield b"partial"
            raise RuntimeError("upstream broke")
        finally:
            closed.append(True)

    async def app(request: HttpRequest, context: InvocationContext) -> HttpResponse:
        return HttpResponse(200, {}, failing())

    handler = streaming_handler(app)
    with pytest.raises(RuntimeError, match="upstream broke"):
        handler(EVENT, CONTEXT)
    handler.close()
    assert closed == [True]


async def test_respond_passes_the_translated_request_and_the_context() -> None:
    seen: list[tuple[HttpRequest, InvocationContext]] = []

    async def app(request: HttpRequest, context: InvocationContext) -> HttpResponse:
        seen.append((request, context))
        return HttpResponse(202)

    response = await streaming_handler(app).respond(EVENT, CONTEXT)
    assert response.status == 202
    [(request, context)] = seen
    assert (request.method, request.path, request.body) == ("POST", "/echo", b"hi")
    assert context is CONTEXT
