"""Beyond text through the real ``openai`` SDK and the loopback fake: reasoning, parallel tool
calls, usage details, and the request's new fields reaching the upstream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from llmrelay import ChatRequest, stream_chat
from llmrelay.blocks import BlockCollector
from llmrelay.config import Settings
from llmrelay.errors import UnsupportedParameter
from llmrelay.events import (
    BlockEnd,
    BlockStart,
    Finish,
    ReasoningBlock,
    StreamEvent,
    TextBlock,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from llmrelay.secrets import StaticSecrets
from llmrelay.testing import FakeOpenAI, FakeToolCall, Reply

KEY = "sk-test-blocks-0123456789"


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=KEY) as server:
        yield server


def settings_for(fake: FakeOpenAI) -> Settings:
    return Settings.from_env({"LLMRELAY_OPENAI_BASE_URL": f"{fake.url}/v1"})


async def run(fake: FakeOpenAI, **fields: Any) -> list[StreamEvent]:
    body = {"model": "openai/gpt-test", "messages": [{"role": "user", "content": "hi"}], **fields}
    secrets = StaticSecrets({"OPENAI_API_KEY": KEY})
    stream = stream_chat(ChatRequest.parse(body), settings=settings_for(fake), secrets=secrets)
    return [event async for event in stream]


WEATHER = FakeToolCall("call_a", "weather", ('{"city": "Zü', 'rich", "note": "日本', '語"}'))
CLOCK = FakeToolCall("call_b", "clock", ('{"tz": ', '"Europe/Zürich"}'))


@pytest.mark.parametrize("split_writes", [False, True], ids=["whole-writes", "split-writes"])
@pytest.mark.parametrize(
    "calls",
    [
        pytest.param((WEATHER, CLOCK), id="distinct-indices"),
        pytest.param(
            (
                FakeToolCall(WEATHER.id, WEATHER.name, WEATHER.fragments, index=0),
                FakeToolCall(CLOCK.id, CLOCK.name, CLOCK.fragments, index=0),
            ),
            id="every-call-at-index-0",
        ),
    ],
)
async def test_parallel_tool_calls_reassemble_to_the_exact_arguments(
    fake: FakeOpenAI, calls: tuple[FakeToolCall, ...], split_writes: bool
) -> None:
    fake.queue(
        Reply(
            pieces=("Let me check.",),
            tool_calls=calls,
            finish_reason="tool_calls",
            split_writes=split_writes,
        )
    )
    events = await run(fake)
    collector = BlockCollector()
    collector.extend(events)
    assert collector.blocks() == [
        TextBlock("Let me check."),
        ToolCall("call_a", "weather", WEATHER.arguments),
        ToolCall("call_b", "clock", CLOCK.arguments),
    ]
    starts = [e for e in events if isinstance(e, BlockStart)]
    assert [(s.index, s.kind, s.id) for s in starts] == [
        (0, "text", None),
        (1, "tool_call", "call_a"),
        (2, "tool_call", "call_b"),
    ]
    fragments = {1: "", 2: ""}
    for event in events:
        if isinstance(event, ToolCallDelta):
            fragments[event.index] += event.arguments
    assert json.loads(fragments[1]) == {"city": "Zürich", "note": "日本語"}
    assert json.loads(fragments[2]) == {"tz": "Europe/Zürich"}
    assert isinstance(events[-1], Finish)
    assert events[-1].reason == "tool_calls"


async def test_reasoning_content_is_a_reasoning_block_before_the_text(fake: FakeOpenAI) -> None:
    fake.queue(Reply(reasoning=("Think", "ing…"), pieces=("Answer",)))
    events = await run(fake)
    ends = [e.block for e in events if isinstance(e, BlockEnd)]
    assert ends == [ReasoningBlock("Thinking…"), TextBlock("Answer")]


async def test_cached_and_reasoning_tokens_reach_the_usage(fake: FakeOpenAI) -> None:
    fake.queue(Reply(input_tokens=120, output_tokens=40, cached_tokens=100, reasoning_tokens=30))
    events = await run(fake)
    assert isinstance(events[-1], Finish)
    assert events[-1].usage == Usage(120, 40, cache_read_tokens=100, reasoning_tokens=30)


async def test_tools_and_sampling_fields_reach_the_upstream(fake: FakeOpenAI) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    await run(
        fake,
        tools=[{"name": "weather", "description": "Weather", "parameters": schema, "strict": True}],
        tool_choice={"name": "weather"},
        parallel_tool_calls=False,
        response_format={"type": "json_schema", "name": "out", "schema": schema, "strict": True},
        stop=["END"],
        top_p=0.5,
        seed=7,
        reasoning_effort="low",
    )
    body = fake.requests[-1].body
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "parameters": schema,
                "description": "Weather",
                "strict": True,
            },
        }
    ]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "weather"}}
    assert body["parallel_tool_calls"] is False
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "out", "schema": schema, "strict": True},
    }
    assert (body["stop"], body["top_p"], body["seed"]) == (["END"], 0.5, 7)
    assert body["reasoning_effort"] == "low"


async def test_images_files_tool_calls_and_results_arrive_as_the_api_wants_them(
    fake: FakeOpenAI,
) -> None:
    png = "iVBORw0KGgo="
    await run(
        fake,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image", "data": png, "media_type": "image/png"},
                    {"type": "image", "url": "https://example.test/cat.jpg"},
                    {"type": "file", "data": "JVBERi0=", "media_type": "application/pdf"},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "reasoning", "text": "hidden", "signature": "sig"},
                    {"type": "tool_call", "id": "c1", "name": "look", "arguments": '{"x":1}'},
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "a cat"},
        ],
    )
    sent = fake.requests[-1].body["messages"]
    assert sent[0]["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
        {"type": "image_url", "image_url": {"url": "https://example.test/cat.jpg"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0="}},
    ]
    assert sent[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "look", "arguments": '{"x":1}'}}
        ],
    }
    assert sent[2] == {"role": "tool", "tool_call_id": "c1", "content": "a cat"}


async def test_what_a_provider_cannot_do_is_refused_before_any_upstream_call(
    fake: FakeOpenAI,
) -> None:
    body = {"model": "anthropic/claude-x", "messages": [{"role": "user", "content": "hi"}]}
    request = ChatRequest.parse({**body, "seed": 3})
    with pytest.raises(UnsupportedParameter) as caught:
        async for _ in stream_chat(request, secrets=StaticSecrets({})):
            pass
    assert caught.value.param == "seed"
    assert caught.value.status == 400
    assert "anthropic" in caught.value.message
    assert fake.requests == []
