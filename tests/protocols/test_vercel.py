from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.protocols.sse_reader import read_sse
from tests.protocols.test_native_blocks import SIGNATURE, answer

from llmrelay.errors import RateLimited, UpstreamUnavailable
from llmrelay.events import (
    BlockEnd,
    BlockStart,
    Failure,
    Finish,
    FinishReason,
    ReasoningBlock,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    Usage,
)
from llmrelay.protocols.base import Heartbeat, StreamItem, StreamMeta
from llmrelay.protocols.vercel import (
    DONE,
    UI_MESSAGE_STREAM_HEADERS,
    encode_ui_message_stream,
    usage_metadata,
)
from llmrelay.sse import PING

META = StreamMeta(id="req-1", provider="echo", model="echo/echo", created=0)
TEXT = "text-0"


async def items_of(*items: StreamItem) -> AsyncIterator[StreamItem]:
    for item in items:
        yield item


async def encode(*items: StreamItem) -> list[bytes]:
    return [frame async for frame in encode_ui_message_stream(META, items_of(*items))]


def parts_of(frames: list[bytes]) -> list[dict[str, Any]]:
    """Every part, ``[DONE]`` (always last, once) left out."""
    data = [event.data for event in read_sse(b"".join(frames))]
    assert data[-1] == "[DONE]"
    assert data.count("[DONE]") == 1
    return [json.loads(item) for item in data[:-1]]


def test_the_response_header_names_protocol_v1() -> None:
    assert dict(UI_MESSAGE_STREAM_HEADERS) == {"x-vercel-ai-ui-message-stream": "v1"}


async def test_an_answer_is_start_text_parts_and_finish_as_streamtext_sends_them() -> None:
    frames = await encode(TextDelta("Hel"), TextDelta("lo"), Finish("stop", Usage(3, 2)))
    assert parts_of(frames) == [
        {"type": "start", "messageId": "req-1"},
        {"type": "start-step"},
        {"type": "text-start", "id": TEXT},
        {"type": "text-delta", "id": TEXT, "delta": "Hel"},
        {"type": "text-delta", "id": TEXT, "delta": "lo"},
        {"type": "text-end", "id": TEXT},
        {"type": "finish-step"},
        {
            "type": "finish",
            "finishReason": "stop",
            "messageMetadata": {
                "model": "echo/echo",
                "usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5},
            },
        },
    ]
    assert frames[-1] == DONE == b"data: [DONE]\n\n"


async def test_an_answer_without_text_opens_no_text_part() -> None:
    types = [part["type"] for part in parts_of(await encode(TextDelta(""), Finish()))]
    assert types == ["start", "start-step", "finish-step", "finish"]


REASONS: list[tuple[FinishReason, str]] = [
    ("stop", "stop"),
    ("length", "length"),
    ("content_filter", "content-filter"),
    ("tool_calls", "tool-calls"),
    ("other", "other"),
]


@pytest.mark.parametrize(("reason", "expected"), REASONS, ids=[r for r, _ in REASONS])
async def test_finish_reasons_take_the_ai_sdks_spelling(
    reason: FinishReason, expected: str
) -> None:
    assert parts_of(await encode(Finish(reason)))[-1]["finishReason"] == expected


async def test_a_failure_after_text_closes_the_text_then_sends_an_error_part() -> None:
    failure = Failure(UpstreamUnavailable("upstream went away"), Usage(output_tokens=1))
    parts = parts_of(await encode(TextDelta("Hel"), failure))
    assert parts[4:] == [
        {"type": "text-end", "id": TEXT},
        {
            "type": "data-llmrelay-error",
            "data": {
                "code": "upstream_unavailable",
                "message": "upstream went away",
                "retryable": True,
            },
            "transient": True,
        },
        {"type": "error", "errorText": "upstream went away"},
        {"type": "finish-step"},
        {
            "type": "finish",
            "finishReason": "error",
            "messageMetadata": usage_metadata("echo/echo", Usage(output_tokens=1)),
        },
    ]


async def test_heartbeats_are_ping_comments_between_whole_parts() -> None:
    frames = await encode(Heartbeat(), TextDelta("a"), Finish())
    assert frames[2] == PING
    assert [part["type"] for part in parts_of(frames)][2:4] == ["text-start", "text-delta"]


async def test_text_with_newlines_and_unicode_survives() -> None:
    text = "line one\nline two\r\n\u2028caf\u00e9 \U0001f600"
    parts = parts_of(await encode(TextDelta(text), Finish()))
    assert parts[3] == {"type": "text-delta", "id": TEXT, "delta": text}


SCRIPTS = [
    pytest.param((Finish(),), 0, id="empty-answer"),
    pytest.param((TextDelta("a"), Finish()), 0, id="answer"),
    pytest.param((TextDelta("a"), Heartbeat(), Failure(RateLimited("x"))), 1, id="error-late"),
    pytest.param((TextDelta("a"), Heartbeat()), 1, id="no-terminal"),
    pytest.param((TextDelta("a"), Finish(), TextDelta("late"), Finish()), 0, id="two-terminals"),
]


@pytest.mark.parametrize(("items", "errors"), SCRIPTS)
async def test_every_stream_is_balanced_and_ends_with_one_finish(
    items: tuple[StreamItem, ...], errors: int
) -> None:
    types = [part["type"] for part in parts_of(await encode(*items))]
    assert types[:2] == ["start", "start-step"]
    assert types[-2:] == ["finish-step", "finish"]
    assert types.count("finish") == 1
    assert types.count("text-start") == types.count("text-end") <= 1
    assert types.count("error") == errors


async def test_a_fallback_named_by_the_finish_is_the_model_in_the_metadata() -> None:
    finish = Finish("stop", Usage(1, 1), model="anthropic/claude-haiku-4-5")
    metadata = parts_of(await encode(TextDelta("a"), finish))[-1]["messageMetadata"]
    assert metadata["model"] == "anthropic/claude-haiku-4-5"


async def test_reasoning_and_tool_calls_become_reasoning_and_tool_input_parts() -> None:

    parts = parts_of(await encode(*answer()))
    assert parts[2:-2] == [
        {"type": "reasoning-start", "id": "reasoning-0"},
        {"type": "reasoning-delta", "id": "reasoning-0", "delta": "Let me "},
        {"type": "reasoning-delta", "id": "reasoning-0", "delta": "think."},
        {
            "type": "reasoning-end",
            "id": "reasoning-0",
            "providerMetadata": {"llmrelay": {"signature": SIGNATURE}},
        },
        {"type": "text-start", "id": "text-1"},
        {"type": "text-delta", "id": "text-1", "delta": "Checking."},
        {"type": "text-end", "id": "text-1"},
        {"type": "tool-input-start", "toolCallId": "call_a", "toolName": "weather"},
        {"type": "tool-input-start", "toolCallId": "call_b", "toolName": "time"},
        {"type": "tool-input-delta", "toolCallId": "call_a", "inputTextDelta": '{"city":'},
        {"type": "tool-input-delta", "toolCallId": "call_b", "inputTextDelta": '{"tz":"CET"}'},
        {"type": "tool-input-delta", "toolCallId": "call_a", "inputTextDelta": '"Paris"}'},
        {
            "type": "tool-input-available",
            "toolCallId": "call_a",
            "toolName": "weather",
            "input": {"city": "Paris"},
        },
        {
            "type": "tool-input-available",
            "toolCallId": "call_b",
            "toolName": "time",
            "input": {"tz": "CET"},
        },
    ]
    finish = parts[-1]
    assert finish["finishReason"] == "tool-calls"
    assert finish["messageMetadata"]["usage"] == {
        "inputTokens": 10,
        "outputTokens": 7,
        "totalTokens": 17,
        "inputTokenDetails": {"noCacheTokens": 6, "cacheReadTokens": 4, "cacheWriteTokens": 0},
        "outputTokenDetails": {"textTokens": 4, "reasoningTokens": 3},
    }


async def test_redacted_reasoning_and_unparsable_arguments_are_not_lost() -> None:

    parts = parts_of(
        await encode(
            BlockStart(0, "reasoning"),
            ReasoningDelta(index=0, redacted="b3BhcXVl"),
            BlockEnd(0, ReasoningBlock("", redacted="b3BhcXVl")),
            BlockStart(1, "tool_call", id="c1", name="w"),
            BlockEnd(1, ToolCall("c1", "w", '{"city": ')),
            Finish("tool_calls"),
        )
    )
    assert parts[2:4] == [
        {"type": "reasoning-start", "id": "reasoning-0"},
        {
            "type": "reasoning-end",
            "id": "reasoning-0",
            "providerMetadata": {"llmrelay": {"redacted": "b3BhcXVl"}},
        },
    ]
    assert parts[5]["type"] == "tool-input-error"
    assert parts[5]["input"] == '{"city": '


async def test_a_failure_mid_reasoning_closes_the_open_part() -> None:

    types = [
        part["type"]
        for part in parts_of(
            await encode(
                BlockStart(0, "reasoning"),
                ReasoningDelta("hm", 0),
                Failure(UpstreamUnavailable("gone")),
            )
        )
    ]
    assert types == [
        "start",
        "start-step",
        "reasoning-start",
        "reasoning-delta",
        "reasoning-end",
        "data-llmrelay-error",
        "error",
        "finish-step",
        "finish",
    ]
