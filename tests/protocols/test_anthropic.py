"""The Anthropic Messages encoder, read back by the ``anthropic`` SDK's own stream
accumulator (``accumulate_event``, what ``messages.stream(...)`` builds its final message
with), so each test shows what a real client ends up holding."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import RawMessageStreamEvent
from tests.protocols.sse_reader import read_sse
from tests.protocols.test_native_blocks import SIGNATURE, answer

from llmrelay.errors import (
    InvalidRequest,
    LLMRelayError,
    RateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from llmrelay.events import (
    Block,
    BlockEnd,
    BlockStart,
    Failure,
    Finish,
    ReasoningBlock,
    ReasoningDelta,
    TextBlock,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from llmrelay.gateway.errors import MethodNotAllowed, NotFound, PayloadTooLarge
from llmrelay.protocols.anthropic import (
    PING,
    encode_messages_stream,
    error_object,
    message,
    usage_object,
)
from llmrelay.protocols.anthropic_blocks import BlockFrames, frame
from llmrelay.protocols.base import Heartbeat, StreamItem, StreamMeta

META = StreamMeta("req-1", "echo", "echo/echo", 1_700_000_000)


async def _items(items: Iterable[StreamItem]) -> AsyncIterator[StreamItem]:
    for item in items:
        yield item


async def encode(items: Iterable[StreamItem]) -> bytes:
    return b"".join([frame async for frame in encode_messages_stream(META, _items(items))])


def events_of(raw: bytes) -> list[dict[str, Any]]:
    found = read_sse(raw)
    for event in found:  # every event is named by its own type, as Anthropic sends them
        assert event.event == json.loads(event.data)["type"]
    return [json.loads(event.data) for event in found]


def accumulated(raw: bytes) -> Any:
    """The SDK's final message for the stream (``ping`` and ``error`` events left out)."""
    snapshot: Any = None
    buffers: dict[int, bytes] = {}
    for data in events_of(raw):
        if data["type"] in ("ping", "error"):
            continue
        event: Any = RawMessageStreamEvent  # only for the type checker's sake
        event = data
        snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=buffers)
    return snapshot


async def test_the_sdk_accumulates_every_block_of_the_answer() -> None:
    final = accumulated(await encode(answer()))
    assert [block.to_dict() for block in final.content] == [
        {"type": "thinking", "thinking": "Let me think.", "signature": SIGNATURE},
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "call_a", "name": "weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "call_b", "name": "time", "input": {"tz": "CET"}},
    ]
    assert final.stop_reason == "tool_use"
    assert final.id == "msg_req-1"
    assert final.model == "echo/echo"
    usage = final.usage
    assert (usage.input_tokens, usage.cache_read_input_tokens, usage.output_tokens) == (6, 4, 7)
    assert usage.cache_creation_input_tokens == 0
    assert usage.output_tokens_details.thinking_tokens == 3


async def test_blocks_go_out_one_at_a_time_with_consecutive_indices() -> None:
    events = events_of(await encode(answer()))
    kinds = [event["type"] for event in events]
    assert kinds[0] == "message_start"
    assert kinds[-2:] == ["message_delta", "message_stop"]
    open_index = None
    starts = []
    for event in events[1:-2]:
        if event["type"] == "content_block_start":
            assert open_index is None, "a block opened while another was open"
            open_index = event["index"]
            starts.append(open_index)
        elif event["type"] == "content_block_stop":
            assert event["index"] == open_index
            open_index = None
        else:
            assert event["index"] == open_index
    assert starts == [0, 1, 2, 3]
    # The second call's fragment, sent while the first was open, waited for its turn.
    fragments = [
        (event["index"], event["delta"]["partial_json"])
        for event in events
        if event["type"] == "content_block_delta" and event["delta"]["type"] == "input_json_delta"
    ]
    assert fragments == [(2, '{"city":'), (2, '"Paris"}'), (3, '{"tz":"CET"}')]


async def test_the_signature_goes_out_whole_in_one_delta_before_the_stop() -> None:
    events = events_of(await encode(answer()))
    thinking = [e for e in events if e.get("index") == 0]
    assert thinking[0]["content_block"] == {"type": "thinking", "thinking": "", "signature": ""}
    assert [e["delta"] for e in thinking[1:-1]] == [
        {"type": "thinking_delta", "thinking": "Let me "},
        {"type": "thinking_delta", "thinking": "think."},
        {"type": "signature_delta", "signature": SIGNATURE},
    ]
    assert thinking[-1]["type"] == "content_block_stop"


@pytest.mark.parametrize(
    ("deltas", "blocks"),
    [
        pytest.param(
            [ReasoningDelta(index=0, redacted="QUJD"), ReasoningDelta(index=0, redacted="REVG")],
            [{"type": "redacted_thinking", "data": "QUJDREVG"}],
            id="redacted-only",
        ),
        pytest.param(
            [ReasoningDelta("plan", 0), ReasoningDelta(index=0, redacted="QUJD")],
            [
                {"type": "thinking", "thinking": "plan", "signature": ""},
                {"type": "redacted_thinking", "data": "QUJD"},
            ],
            id="readable-then-redacted",
        ),
        pytest.param(
            [ReasoningDelta(index=0, redacted="QUJD"), ReasoningDelta("plan", 0)],
            [
                {"type": "thinking", "thinking": "plan", "signature": ""},
                {"type": "redacted_thinking", "data": "QUJD"},
            ],
            id="redacted-then-readable",
        ),
    ],
)
async def test_redacted_reasoning_is_a_redacted_thinking_block_with_its_data_whole(
    deltas: list[ReasoningDelta], blocks: list[dict[str, object]]
) -> None:
    text = "".join(d.text for d in deltas)
    redacted = "".join(d.redacted for d in deltas)
    items: list[StreamItem] = [
        BlockStart(0, "reasoning"),
        *deltas,
        BlockEnd(0, ReasoningBlock(text, None, redacted)),
        BlockStart(1, "text"),
        TextDelta("ok", 1),
        BlockEnd(1, TextBlock("ok")),
        Finish(),
    ]
    final = accumulated(await encode(items))
    assert [block.to_dict() for block in final.content] == [*blocks, {"type": "text", "text": "ok"}]


async def test_deltas_without_starts_and_blocks_known_only_by_their_end_are_written() -> None:
    items: list[StreamItem] = [
        TextDelta("Hel"),
        TextDelta("lo"),
        BlockEnd(1, ToolCall("call_1", "echo", '{"a": 1}')),
        BlockEnd(2, ReasoningBlock("why", "sig")),
        BlockEnd(3, ReasoningBlock("", None, "ZGF0YQ==")),
        BlockEnd(4, TextBlock("")),
        Finish("stop", Usage(3, 2)),
    ]
    final = accumulated(await encode(items))
    assert [block.to_dict() for block in final.content] == [
        {"type": "text", "text": "Hello"},
        {"type": "tool_use", "id": "call_1", "name": "echo", "input": {"a": 1}},
        {"type": "thinking", "thinking": "why", "signature": "sig"},
        {"type": "redacted_thinking", "data": "ZGF0YQ=="},
        {"type": "text", "text": ""},
    ]
    assert final.stop_reason == "end_turn"


async def test_a_stream_cut_before_its_blocks_end_still_stops_them() -> None:
    items: list[StreamItem] = [
        BlockStart(0, "tool_call", id="call_1", name="echo"),
        BlockStart(1, "tool_call", id="call_2", name="echo"),
        ToolCallDelta("{}", 1),
        Finish("length"),
    ]
    final = accumulated(await encode(items))
    assert [(block.type, block.id) for block in final.content] == [
        ("tool_use", "call_1"),
        ("tool_use", "call_2"),
    ]
    assert final.stop_reason == "max_tokens"


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("content_filter", "refusal"),
        ("tool_calls", "tool_use"),
        ("other", "end_turn"),
    ],
)
async def test_each_finish_reason_is_anthropics_stop_reason(reason: Any, expected: str) -> None:
    events = events_of(await encode([TextDelta("a"), Finish(reason)]))
    assert events[-2]["delta"] == {"stop_reason": expected, "stop_sequence": None}


async def test_a_stop_sequence_the_upstream_named_is_anthropics_stop_sequence() -> None:
    finish = Finish("stop", stop_sequence="END")
    events = events_of(await encode([TextDelta("a"), finish]))
    assert events[-2]["delta"] == {"stop_reason": "stop_sequence", "stop_sequence": "END"}
    final = accumulated(await encode([TextDelta("a"), finish]))
    assert (final.stop_reason, final.stop_sequence) == ("stop_sequence", "END")
    document = message(META, "a", finish)
    assert (document["stop_reason"], document["stop_sequence"]) == ("stop_sequence", "END")


@pytest.mark.parametrize(
    "text", ["plain", 'quote " and \\ back', "two\nlines\r\n", "Zürich ☕", "\ud800"]
)
def test_the_fast_text_frame_is_the_general_frame_byte_for_byte(text: str) -> None:
    writer = BlockFrames()
    writer.frames(BlockStart(0, "tool_call", id="c", name="n"))
    writer.frames(BlockEnd(0, ToolCall("c", "n", "{}")))
    writer.frames(BlockStart(1, "text"))
    general = frame("content_block_delta", index=1, delta={"type": "text_delta", "text": text})
    assert writer.text(TextDelta(text, 1)) == general
    assert writer.text(TextDelta(text, 2)) is None  # not the open block's piece
    assert writer.text(TextDelta("", 1)) is None


async def test_heartbeats_are_ping_events_and_the_sdk_skips_them() -> None:
    raw = await encode([Heartbeat(), TextDelta("a"), Heartbeat(), Finish()])
    assert raw.count(PING) == 2
    assert PING == b'event: ping\ndata: {"type":"ping"}\n\n'
    assert [block.text for block in accumulated(raw).content] == ["a"]


async def test_a_failure_after_text_is_one_error_event_and_the_end() -> None:
    raw = await encode([TextDelta("Hel"), Failure(UpstreamUnavailable("went away"))])
    events = events_of(raw)
    assert events[-1] == {
        "type": "error",
        "error": {
            "type": "api_error",
            "message": "went away",
            "details": {"error_code": "upstream_unavailable"},
        },
    }
    assert "message_stop" not in [event["type"] for event in events]


async def test_a_stream_without_a_terminal_item_ends_with_an_error_event() -> None:
    events = events_of(await encode([TextDelta("a")]))
    assert events[-1]["type"] == "error"
    assert events[-1]["error"]["details"] == {"error_code": "internal_error"}


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (InvalidRequest("bad"), "invalid_request_error"),
        (NotFound("no"), "not_found_error"),
        (MethodNotAllowed("no"), "invalid_request_error"),
        (PayloadTooLarge("big"), "request_too_large"),
        (RateLimited("slow"), "rate_limit_error"),
        (UpstreamTimeout("late"), "timeout_error"),
        (UpstreamUnavailable("down"), "api_error"),
        (LLMRelayError("oops"), "api_error"),
    ],
)
def test_errors_take_anthropics_type_for_their_status(error: LLMRelayError, kind: str) -> None:
    assert error_object(error) == {
        "type": "error",
        "error": {"type": kind, "message": error.message, "details": {"error_code": error.code}},
    }


def test_usage_keeps_anthropics_convention_input_without_the_cache_counts() -> None:
    usage = Usage(100, 20, cache_read_tokens=60, cache_write_tokens=30)
    assert usage_object(usage) == {
        "input_tokens": 10,
        "output_tokens": 20,
        "cache_creation_input_tokens": 30,
        "cache_read_input_tokens": 60,
    }


def test_the_batch_message_holds_every_block() -> None:
    blocks: list[Block] = [
        ReasoningBlock("hmm", SIGNATURE),
        ReasoningBlock("", None, "QUJD"),
        TextBlock("Hi"),
        ToolCall("call_1", "echo", '{"text": "Hi"}'),
    ]
    document = message(META, "Hi", Finish("tool_calls", Usage(5, 4), model="openai/x"), blocks)
    assert document == {
        "id": "msg_req-1",
        "type": "message",
        "role": "assistant",
        "model": "openai/x",
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": SIGNATURE},
            {"type": "redacted_thinking", "data": "QUJD"},
            {"type": "text", "text": "Hi"},
            {"type": "tool_use", "id": "call_1", "name": "echo", "input": {"text": "Hi"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": usage_object(Usage(5, 4)),
    }


def test_a_batch_message_of_text_alone_needs_no_blocks() -> None:
    document = message(META, "Hello", Finish())
    assert document["content"] == [{"type": "text", "text": "Hello"}]


def test_text_from_deltas_that_named_no_block_is_kept_beside_the_blocks() -> None:
    call = ToolCall("call_1", "echo", "{}")
    document = message(META, "Hello", Finish("tool_calls"), [call])
    assert document["content"] == [
        {"type": "text", "text": "Hello"},
        {"type": "tool_use", "id": "call_1", "name": "echo", "input": {}},
    ]


@pytest.mark.parametrize("arguments", ['{"a": ', "[1, 2]"])
def test_arguments_that_are_no_json_object_are_passed_on_as_sent(arguments: str) -> None:
    document = message(META, "", Finish("tool_calls"), [ToolCall("c", "echo", arguments)])
    assert document["content"] == [
        {"type": "tool_use", "id": "c", "name": "echo", "input": arguments}
    ]
