"""The pure mapping of Anthropic's stream events, fed the SDK's own event types."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from anthropic.types import RawMessageStreamEvent
from pydantic import TypeAdapter

from llmrelay.blocks import BlockCollector
from llmrelay.errors import UpstreamUnavailable
from llmrelay.events import Finish, StreamEvent, TextBlock, ToolCall, Usage
from llmrelay.providers.anthropic_events import events_from_stream, usage_of

_EVENT: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)
START = {
    "type": "message_start",
    "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": [],
        "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 1, "cache_read_input_tokens": 2},
    },
}  # fmt: skip
END = {
    "type": "message_delta",
    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
    "usage": {"output_tokens": 4},
}


def block(index: int, content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": content}


def delta(index: int, content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": content}


def stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


async def events(*raw: dict[str, Any]) -> AsyncIterator[object]:
    for item in raw:
        yield _EVENT.validate_python(item)


async def mapped(*raw: dict[str, Any], json_tool: str | None = None) -> list[StreamEvent]:
    return [e async for e in events_from_stream(events(*raw), "anthropic", json_tool)]


async def test_two_text_blocks_stay_two_and_a_start_may_carry_text() -> None:
    out = await mapped(
        START,
        block(0, {"type": "text", "text": "Pre"}),
        delta(0, {"type": "text_delta", "text": "fix"}),
        stop(0),
        block(1, {"type": "text", "text": ""}),
        delta(1, {"type": "text_delta", "text": "Second"}),
        stop(1),
        END,
    )
    collector = BlockCollector()
    collector.extend(out)
    assert collector.blocks() == [TextBlock("Prefix"), TextBlock("Second")]
    # Usage: message_delta's counts overwrite, the ones it leaves out survive.
    assert out[-1] == Finish("stop", Usage(5, 4, cache_read_tokens=2))


async def test_blocks_llmrelay_cannot_hand_on_are_skipped() -> None:
    server_tool = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}
    out = await mapped(
        START,
        block(0, server_tool),
        delta(0, {"type": "input_json_delta", "partial_json": '{"q": 1}'}),
        stop(0),
        delta(7, {"type": "text_delta", "text": "to no block"}),
        stop(7),
        END,
    )
    assert out == [Finish("stop", Usage(5, 4, cache_read_tokens=2))]


async def test_the_json_tool_streams_as_text_beside_real_tool_calls() -> None:
    out = await mapped(
        START,
        block(0, {"type": "tool_use", "id": "toolu_j", "name": "json_response", "input": {}}),
        delta(0, {"type": "input_json_delta", "partial_json": "{}"}),
        stop(0),
        block(1, {"type": "tool_use", "id": "toolu_2", "name": "other", "input": {}}),
        stop(1),
        {**END, "delta": {"stop_reason": "tool_use", "stop_sequence": None}},
        json_tool="json_response",
    )
    collector = BlockCollector()
    collector.extend(out)
    assert collector.blocks() == [TextBlock("{}"), ToolCall("toolu_2", "other", "")]
    assert isinstance(out[-1], Finish)
    assert out[-1].reason == "tool_calls"  # a real call was made: the caller must act on it


async def test_a_content_event_before_message_start_is_a_garbled_stream() -> None:
    with pytest.raises(ValueError, match="outside a message"):
        await mapped(delta(0, {"type": "text_delta", "text": "x"}))


@pytest.mark.parametrize("raw", [(), (START,)], ids=["nothing", "no-message-delta"])
async def test_a_stream_that_ends_early_is_unavailable(raw: tuple[dict[str, Any], ...]) -> None:
    with pytest.raises(UpstreamUnavailable):
        await mapped(*raw)


def test_usage_of_counts_cached_tokens_in_the_input() -> None:
    raw = _EVENT.validate_python(START).message.usage
    assert usage_of(raw) == Usage(5, 1, cache_read_tokens=2)
