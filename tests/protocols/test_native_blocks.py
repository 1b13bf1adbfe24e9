"""The native dialect's events beyond text: reasoning and tool-call blocks, whole at their end."""

from __future__ import annotations

import json

from tests.protocols.sse_reader import read_json_events
from tests.protocols.test_native import META_JSON, encode

from llmrelay.blocks import BlockCollector
from llmrelay.events import (
    BlockEnd,
    BlockStart,
    Finish,
    ReasoningBlock,
    ReasoningDelta,
    StreamEvent,
    TextBlock,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)

SIGNATURE = "EqQBCkgIARABGAIiQL+/sig=="


def answer() -> list[StreamEvent]:
    """Reasoning with a signature, text, then two interleaved tool calls."""
    return [
        BlockStart(0, "reasoning"),
        ReasoningDelta("Let me ", 0),
        ReasoningDelta("think.", 0),
        ReasoningDelta(index=0, signature=SIGNATURE[:10]),
        ReasoningDelta(index=0, signature=SIGNATURE[10:]),
        BlockEnd(0, ReasoningBlock("Let me think.", SIGNATURE)),
        BlockStart(1, "text"),
        TextDelta("Checking.", 1),
        BlockEnd(1, TextBlock("Checking.")),
        BlockStart(2, "tool_call", id="call_a", name="weather"),
        BlockStart(3, "tool_call", id="call_b", name="time"),
        ToolCallDelta('{"city":', 2),
        ToolCallDelta('{"tz":"CET"}', 3),
        ToolCallDelta('"Paris"}', 2),
        BlockEnd(2, ToolCall("call_a", "weather", '{"city":"Paris"}')),
        BlockEnd(3, ToolCall("call_b", "time", '{"tz":"CET"}')),
        Finish("tool_calls", Usage(10, 7, cache_read_tokens=4, reasoning_tokens=3)),
    ]


async def test_reasoning_and_tool_calls_have_their_own_events() -> None:
    events = read_json_events(await encode(*answer()))
    assert events[0] == ("meta", META_JSON)
    assert events[1:-1] == [
        ("block_start", {"index": 0, "type": "reasoning"}),
        ("reasoning", {"index": 0, "text": "Let me "}),
        ("reasoning", {"index": 0, "text": "think."}),
        ("reasoning", {"index": 0, "signature": SIGNATURE[:10]}),
        ("reasoning", {"index": 0, "signature": SIGNATURE[10:]}),
        (
            "block_end",
            {
                "index": 0,
                "block": {"type": "reasoning", "text": "Let me think.", "signature": SIGNATURE},
            },
        ),
        ("delta", {"text": "Checking.", "index": 1}),
        ("block_start", {"index": 2, "type": "tool_call", "id": "call_a", "name": "weather"}),
        ("block_start", {"index": 3, "type": "tool_call", "id": "call_b", "name": "time"}),
        ("tool_input", {"index": 2, "arguments": '{"city":'}),
        ("tool_input", {"index": 3, "arguments": '{"tz":"CET"}'}),
        ("tool_input", {"index": 2, "arguments": '"Paris"}'}),
        (
            "block_end",
            {
                "index": 2,
                "block": {
                    "type": "tool_call",
                    "id": "call_a",
                    "name": "weather",
                    "arguments": '{"city":"Paris"}',
                },
            },
        ),
        (
            "block_end",
            {
                "index": 3,
                "block": {
                    "type": "tool_call",
                    "id": "call_b",
                    "name": "time",
                    "arguments": '{"tz":"CET"}',
                },
            },
        ),
    ]
    name, done = events[-1]
    assert name == "done"
    assert done["finish_reason"] == "tool_calls"
    assert done["usage"] == {
        "input_tokens": 10,
        "output_tokens": 7,
        "cache_read_tokens": 4,
        "reasoning_tokens": 3,
    }
    # The first token was reasoning: 10 ms after the start on the test's clock.
    assert done["timings"]["ttft_ms"] == 10


async def test_a_client_rebuilds_every_block_from_the_pieces_alone() -> None:
    """Concatenating the pieces per index gives back what the blocks say, byte for byte."""
    events = read_json_events(await encode(*answer()))
    text: dict[int, str] = {}
    signature: dict[int, str] = {}
    arguments: dict[int, str] = {}
    for name, data in events:
        index = data.get("index", 0)
        if name in ("delta", "reasoning"):
            text[index] = text.get(index, "") + data.get("text", "")
            signature[index] = signature.get(index, "") + data.get("signature", "")
        elif name == "tool_input":
            arguments[index] = arguments.get(index, "") + data["arguments"]
    collector = BlockCollector()
    collector.extend(answer())
    assert collector.blocks()[0] == ReasoningBlock(text[0], signature[0])
    assert signature[0] == SIGNATURE
    assert text[1] == "Checking."
    assert json.loads(arguments[2]) == {"city": "Paris"}
    assert arguments[3] == '{"tz":"CET"}'


async def test_a_text_only_stream_is_unchanged() -> None:
    items: list[StreamEvent] = [
        BlockStart(0, "text"),
        TextDelta("Hi", 0),
        BlockEnd(0, TextBlock("Hi")),
        Finish(),
    ]
    names = [name for name, _ in read_json_events(await encode(*items))]
    assert names == ["meta", "delta", "done"]


async def test_redacted_reasoning_travels_as_fragments_and_whole() -> None:
    items: list[StreamEvent] = [
        BlockStart(0, "reasoning"),
        ReasoningDelta(index=0, redacted="b3BhcXVl"),
        BlockEnd(0, ReasoningBlock("", redacted="b3BhcXVl")),
        Finish(),
    ]
    events = read_json_events(await encode(*items))
    assert ("reasoning", {"index": 0, "redacted": "b3BhcXVl"}) in events
    assert (
        "block_end",
        {"index": 0, "block": {"type": "reasoning", "text": "", "redacted": "b3BhcXVl"}},
    ) in events
