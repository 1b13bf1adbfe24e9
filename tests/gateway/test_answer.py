from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator

import pytest
from tests.gateway.fakes import Context, Pause, Script, Step

from llmrelay.chat import route
from llmrelay.errors import RateLimited
from llmrelay.events import Failure, Finish, TextDelta
from llmrelay.gateway.answer import Started, answer_meta, gather, start_answer, stream_frames
from llmrelay.gateway.options import GatewayOptions
from llmrelay.http import HttpRequest
from llmrelay.models import ChatRequest
from llmrelay.protocols.base import Heartbeat, StreamItem, StreamMeta

META = StreamMeta("req-1", "echo", "echo/echo", 0)
QUIET = GatewayOptions(ping_interval_ms=20)


async def start(*steps: Step, heartbeats: bool = False) -> tuple[Started | Failure, Script]:
    script = Script(steps)
    started = await start_answer(script.stream(), Context(), META, QUIET, heartbeats=heartbeats)
    return started, script


async def test_a_failure_as_the_first_item_is_returned_and_the_upstream_closed() -> None:
    failure = Failure(RateLimited("slow down"))
    started, script = await start(failure, TextDelta("never"))
    assert started == failure
    assert script.closed


async def test_an_upstream_that_ends_at_once_is_a_failure() -> None:
    started, _ = await start()
    assert isinstance(started, Failure)
    assert started.error.code == "upstream_unavailable"


async def test_the_first_item_is_kept_and_comes_out_first() -> None:
    started, _ = await start(TextDelta("a"), TextDelta("b"), Finish())
    assert isinstance(started, Started)
    assert [item async for item in started.items()] == [TextDelta("a"), TextDelta("b"), Finish()]


@pytest.mark.parametrize(("heartbeats", "first"), [(True, Heartbeat()), (False, TextDelta("a"))])
async def test_silence_ends_the_wait_with_a_heartbeat_only_when_asked(
    heartbeats: bool, first: StreamItem
) -> None:
    started, _ = await start(Pause(0.06), TextDelta("a"), Finish(), heartbeats=heartbeats)
    assert isinstance(started, Started)
    assert started.first == first
    await started.rest.aclose()


async def test_gather_joins_the_text_and_closes_the_stream() -> None:
    started, script = await start(TextDelta("a"), TextDelta("b"), Finish())
    assert isinstance(started, Started)
    answer = await gather(started)
    assert (answer.text, answer.outcome) == ("ab", Finish())
    assert script.closed


async def _frames(items: AsyncIterator[StreamItem]) -> AsyncGenerator[bytes, None]:
    async for item in items:
        yield repr(item).encode()


async def test_closing_the_body_early_closes_the_upstream() -> None:
    started, script = await start(TextDelta("a"), Pause(5), Finish())
    assert isinstance(started, Started)
    body = stream_frames(started, _frames)
    assert await anext(body) == b"TextDelta(text='a', index=0)"
    await body.aclose()
    assert script.closed


def test_the_answer_id_is_the_invocations_request_id_else_the_requests_else_new() -> None:
    where = route(ChatRequest.parse({"messages": [{"role": "user", "content": "hi"}]}))
    request = HttpRequest("POST", "/chat", request_id="http-1")
    assert answer_meta(request, Context(aws_request_id="inv-1"), where, 7.9) == StreamMeta(
        "inv-1", "echo", "echo/echo", 7
    )
    assert answer_meta(request, Context(aws_request_id=""), where, 0).id == "http-1"
    fresh = answer_meta(HttpRequest("POST", "/chat"), Context(aws_request_id=""), where, 0)
    assert len(fresh.id) == 32
