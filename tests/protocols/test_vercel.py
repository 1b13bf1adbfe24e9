from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.protocols.sse_reader import read_sse

from llmrelay.errors import RateLimited, UpstreamUnavailable
from llmrelay.events import Failure, Finish, FinishReason, TextDelta, Usage
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
        {"type": "error", "errorText": "upstream_unavailable: upstream went away"},
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
