"""Anthropic beyond text through the real ``anthropic`` SDK and the loopback fake: thinking
with its signature, redacted thinking, parallel tool calls, cache tokens in the usage."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from tests.providers.conftest import Run

from llmrelay import ChatRequest, stream_chat
from llmrelay.blocks import BlockCollector
from llmrelay.config import Settings
from llmrelay.events import (
    BlockEnd,
    BlockStart,
    Finish,
    ReasoningBlock,
    ReasoningDelta,
    StreamEvent,
    TextBlock,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from llmrelay.secrets import StaticSecrets
from llmrelay.testing import FakeAnthropic, FakeToolCall, Reply

KEY = "sk-ant-api03-blocks-0123456789abcdef"
MODEL = "anthropic/claude-sonnet-4-6"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as running:
        yield running


@pytest.fixture
def fake(server: FakeAnthropic) -> FakeAnthropic:
    server.replies.clear()
    server.requests.clear()
    return server


def request(**fields: Any) -> ChatRequest:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], **fields}
    return ChatRequest.parse(body)


async def run(fake: FakeAnthropic, chat: ChatRequest | None = None) -> list[StreamEvent]:
    settings = Settings.from_env({"LLMRELAY_ANTHROPIC_BASE_URL": fake.url})
    secrets = StaticSecrets({"ANTHROPIC_API_KEY": KEY})
    stream = stream_chat(chat or request(), settings=settings, secrets=secrets)
    return [event async for event in stream]


def blocks_of(events: list[StreamEvent]) -> list[object]:
    collector = BlockCollector()
    collector.extend(events)
    return list(collector.blocks())


WEATHER = FakeToolCall("toolu_a", "weather", ('{"city": "Zü', 'rich", "note": "日本', '語"}'))
CLOCK = FakeToolCall("toolu_b", "clock", ("", '{"tz": ', '"Europe/Zürich"}'))


@pytest.mark.parametrize("split_writes", [False, True], ids=["whole-writes", "split-writes"])
async def test_parallel_tool_calls_reassemble_to_the_exact_arguments(
    fake: FakeAnthropic, split_writes: bool
) -> None:
    fake.queue(
        Reply(
            pieces=("Let me check.",),
            tool_calls=(WEATHER, CLOCK),
            finish_reason="tool_calls",
            split_writes=split_writes,
        )
    )
    events = await run(fake)
    assert blocks_of(events) == [
        TextBlock("Let me check."),
        ToolCall("toolu_a", "weather", WEATHER.arguments),
        ToolCall("toolu_b", "clock", CLOCK.arguments),
    ]
    starts = [(e.index, e.kind, e.id, e.name) for e in events if isinstance(e, BlockStart)]
    assert starts == [
        (0, "text", None, None),
        (1, "tool_call", "toolu_a", "weather"),
        (2, "tool_call", "toolu_b", "clock"),
    ]
    fragments = {1: "", 2: ""}
    for event in events:
        if isinstance(event, ToolCallDelta):
            fragments[event.index] += event.arguments
    assert json.loads(fragments[1]) == {"city": "Zürich", "note": "日本語"}
    assert json.loads(fragments[2]) == {"tz": "Europe/Zürich"}
    assert isinstance(events[-1], Finish)
    assert events[-1].reason == "tool_calls"


async def test_thinking_and_its_signature_make_one_reasoning_block_byte_exact(
    fake: FakeAnthropic,
) -> None:
    signature = "EqQBCkYIBxgCKkD/+sig==\\u00e9"  # slashes, plus, padding, an escape
    fake.queue(Reply(reasoning=("Let me ", "thínk…"), signature=signature, pieces=("Done.",)))
    events = await run(fake)
    assert blocks_of(events) == [ReasoningBlock("Let me thínk…", signature), TextBlock("Done.")]
    deltas = [e for e in events if isinstance(e, ReasoningDelta)]
    # The signature arrives after the thinking, in its own delta.
    assert [(d.text, d.signature) for d in deltas] == [
        ("Let me ", ""),
        ("thínk…", ""),
        ("", signature),
    ]


async def test_redacted_thinking_is_a_reasoning_block_of_its_own(fake: FakeAnthropic) -> None:
    fake.queue(Reply(reasoning=("Hmm.",), redacted=("EmwKAhgBEgy3va3pzix/LafPsn4a",), pieces=()))
    events = await run(fake)
    [thinking, redacted] = blocks_of(events)
    assert isinstance(thinking, ReasoningBlock)
    assert thinking.text == "Hmm."
    assert thinking.signature in fake.issued.signatures
    assert redacted == ReasoningBlock("", None, "EmwKAhgBEgy3va3pzix/LafPsn4a")


async def test_cache_and_thinking_tokens_reach_the_usage(fake: FakeAnthropic) -> None:
    fake.queue(
        Reply(
            input_tokens=130,
            output_tokens=40,
            cached_tokens=100,
            cache_write_tokens=20,
            reasoning_tokens=30,
        )
    )
    events = await run(fake)
    first = fake.requests[-1]
    assert first.body["stream"] is True
    assert isinstance(events[-1], Finish)
    assert events[-1].usage == Usage(
        130, 40, cache_read_tokens=100, cache_write_tokens=20, reasoning_tokens=30
    )


async def test_tool_input_that_is_not_json_is_passed_on_as_the_model_sent_it(
    fake: FakeAnthropic, run: Run
) -> None:
    # As from every other provider (OpenAI's own API does the same): the arguments are the
    # model's, byte for byte, and the client decides (the UI stream says tool-input-error).
    broken = FakeToolCall("toolu_x", "weather", ('{"city": ', "]]"))
    fake.queue(Reply(pieces=("Checking.",), tool_calls=(broken,), finish_reason="tool_calls"))
    settings = Settings.from_env({"LLMRELAY_ANTHROPIC_BASE_URL": fake.url})
    outcome = await run(request(), settings, StaticSecrets({"ANTHROPIC_API_KEY": KEY}))
    assert outcome.error is None
    assert outcome.deltas == ["Checking."]
    assert blocks_of(outcome.events) == [
        TextBlock("Checking."),
        ToolCall("toolu_x", "weather", '{"city": ]]'),
    ]
    finish = outcome.events[-1]
    assert isinstance(finish, Finish)
    assert finish.reason == "tool_calls"


async def test_block_ends_carry_every_block_in_order(fake: FakeAnthropic) -> None:
    fake.queue(
        Reply(
            reasoning=("plan",),
            pieces=("a", "b"),
            tool_calls=(CLOCK,),
            finish_reason="tool_calls",
        )
    )
    events = await run(fake)
    ends = [(e.index, e.block.kind) for e in events if isinstance(e, BlockEnd)]
    assert ends == [(0, "reasoning"), (1, "text"), (2, "tool_call")]
    assert isinstance(events[-1], Finish)
