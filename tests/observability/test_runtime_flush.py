"""Through the real runtime loop against the fake Runtime API: a streamed answer's record
is emitted once Lambda has the whole response, before the loop asks for the next event."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from tests.runtime.fake_runtime_api import FakeRuntimeApi

from llmrelay.http import HttpRequest, HttpResponse, InvocationContext
from llmrelay.observability import InvocationRecord, note_route, observed
from llmrelay.runtime import StreamingHandler
from llmrelay.runtime.api import RuntimeApi
from llmrelay.runtime.context import FunctionInfo
from llmrelay.runtime.loop import serve

EVENT = {"rawPath": "/chat", "requestContext": {"http": {"method": "POST"}}, "body": "{}"}
PARTS = (b"data: one\n\n", b"data: two\n\n")


async def _slow_parts() -> AsyncIterator[bytes]:
    for part in PARTS:
        await asyncio.sleep(0.01)
        yield part


async def _app(request: HttpRequest, context: InvocationContext) -> HttpResponse:
    note_route("echo", "echo/echo")
    return HttpResponse(200, {"content-type": "text/event-stream"}, _slow_parts())


async def test_the_record_is_emitted_after_the_stream_and_before_the_next_event() -> None:
    fake = await FakeRuntimeApi().start()
    seen: list[tuple[str, bytes, bool, int]] = []
    first = fake.enqueue(EVENT)
    second = fake.enqueue(EVENT)

    def emit(record: InvocationRecord) -> None:
        exchange = fake.exchanges[record.request_id]
        served = sum(request_id in fake.exchanges for request_id in (first, second))
        seen.append((record.request_id, exchange.body, exchange.complete, served))

    try:
        handler = StreamingHandler(observed(_app, emit))
        async with asyncio.timeout(10):
            await serve(
                RuntimeApi(fake.address), handler, function=FunctionInfo(), max_invocations=2
            )
    finally:
        await fake.stop()
    assert fake.violations == []
    whole = b"".join(PARTS)
    # Each record saw its whole body at Lambda, and the second invocation not yet begun.
    assert seen == [(first, whole, True, 1), (second, whole, True, 2)]
