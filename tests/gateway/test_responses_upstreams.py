"""``POST /v1/responses`` in front of real provider adapters and their loopback fakes, read
by the official ``openai`` SDK: what comes out (reasoning and its signature, text, parallel
tool calls with their exact arguments, usage with cache and reasoning tokens, the finish)
equals what the upstream sent. One row per upstream, each read streamed and not."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import openai
import pytest
from openai import AsyncOpenAI
from openai.types.responses import Response
from tests.gateway.app_client import sdk_transport

from llmrelay.config import Settings
from llmrelay.gateway import GatewayOptions, build_app
from llmrelay.secrets import StaticSecrets
from llmrelay.testing import FakeAnthropic, FakeOpenAI, FakeToolCall, FakeUpstream, Reply

WEATHER = FakeToolCall("call_a", "weather", ('{"city": "Zü', 'rich", "note": "日本', '語"}'))
CLOCK = FakeToolCall("call_b", "clock", ('{"tz": ', '"Europe/Zürich"}'))
REPLY = Reply(
    reasoning=("Let me ", "thínk…"),
    pieces=("Let me ", "check."),
    tool_calls=(WEATHER, CLOCK),
    finish_reason="tool_calls",
    input_tokens=120,
    output_tokens=40,
    cached_tokens=100,
    reasoning_tokens=30,
)


@dataclass(frozen=True)
class Upstream:
    """A provider behind the gateway: its fake, its model, and how it is configured."""

    model: str
    fake: Callable[[], FakeUpstream]
    key_name: str
    base_url: Callable[[FakeUpstream], dict[str, str]]
    signs_reasoning: bool


UPSTREAMS = [
    pytest.param(
        Upstream(
            "openai/gpt-test",
            FakeOpenAI,
            "OPENAI_API_KEY",
            lambda fake: {"LLMRELAY_OPENAI_BASE_URL": f"{fake.url}/v1"},
            signs_reasoning=False,
        ),
        id="openai",
    ),
    pytest.param(
        Upstream(
            "anthropic/claude-test",
            FakeAnthropic,
            "ANTHROPIC_API_KEY",
            lambda fake: {"LLMRELAY_ANTHROPIC_BASE_URL": fake.url},
            signs_reasoning=True,
        ),
        id="anthropic",
    ),
]


@pytest.fixture(params=UPSTREAMS)
def upstream(request: pytest.FixtureRequest) -> Upstream:
    chosen: Upstream = request.param
    return chosen


@pytest.fixture
def fake(upstream: Upstream) -> Iterator[FakeUpstream]:
    server = upstream.fake()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def client_for(upstream: Upstream, fake: FakeUpstream) -> AsyncOpenAI:
    app = build_app(
        options=GatewayOptions(),
        settings=Settings.from_env(upstream.base_url(fake)),
        secrets=StaticSecrets({upstream.key_name: "sk-test-responses-0123456789"}),
    )
    http_client = httpx2.AsyncClient(transport=sdk_transport(app))
    return AsyncOpenAI(
        base_url="http://gateway.test/v1", api_key="unused", http_client=http_client, max_retries=0
    )


def signature_of(fake: FakeUpstream) -> str | None:
    issued = getattr(fake, "issued", None)
    return None if issued is None else next(iter(issued.signatures))


def assert_as_sent(response: Response, fake: FakeUpstream, upstream: Upstream) -> None:
    reasoning, message, *calls = response.output
    assert reasoning.type == "reasoning"
    assert [part.text for part in reasoning.summary] == ["Let me thínk…"]
    assert reasoning.encrypted_content == signature_of(fake)
    assert (reasoning.encrypted_content is not None) is upstream.signs_reasoning
    assert message.type == "message"
    assert [part.text for part in message.content if part.type == "output_text"] == [
        "Let me check."
    ]
    assert [(c.call_id, c.name, c.arguments) for c in calls if c.type == "function_call"] == [
        (WEATHER.id, WEATHER.name, WEATHER.arguments),
        (CLOCK.id, CLOCK.name, CLOCK.arguments),
    ]
    assert response.status == "completed"
    assert response.model == upstream.model
    usage = response.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (120, 40, 160)
    assert usage.input_tokens_details.cached_tokens == 100
    assert usage.output_tokens_details.reasoning_tokens == 30


async def test_a_streamed_answer_comes_out_as_the_upstream_sent_it(
    upstream: Upstream, fake: FakeUpstream
) -> None:
    fake.queue(REPLY)
    client = client_for(upstream, fake)
    async with client, client.responses.stream(model=upstream.model, input="hi") as stream:
        events = [event async for event in stream]
        final = await stream.get_final_response()
    assert_as_sent(final, fake, upstream)
    arguments: dict[int, str] = {}
    for event in events:
        if event.type == "response.function_call_arguments.delta":
            arguments[event.output_index] = arguments.get(event.output_index, "") + event.delta
    assert [json.loads(text) for _, text in sorted(arguments.items())] == [
        {"city": "Zürich", "note": "日本語"},
        {"tz": "Europe/Zürich"},
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))


async def test_a_whole_answer_comes_out_as_the_upstream_sent_it(
    upstream: Upstream, fake: FakeUpstream
) -> None:
    fake.queue(REPLY)
    async with client_for(upstream, fake) as client:
        response = await client.responses.create(model=upstream.model, input="hi")
    assert_as_sent(response, fake, upstream)


async def test_a_length_stop_upstream_is_an_incomplete_response(
    upstream: Upstream, fake: FakeUpstream
) -> None:
    fake.queue(Reply(pieces=("cut ", "short"), finish_reason="length"))
    async with client_for(upstream, fake) as client:
        response = await client.responses.create(model=upstream.model, input="hi")
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.output_text == "cut short"


async def test_the_request_reaches_the_openai_upstream_in_its_terms() -> None:
    upstream: Upstream = UPSTREAMS[0].values[0]  # type: ignore[assignment]
    schema: dict[str, Any] = {"type": "object", "properties": {"city": {"type": "string"}}}
    with FakeOpenAI() as fake:
        async with client_for(upstream, fake) as client:
            await client.responses.create(
                model=upstream.model,
                instructions="Be brief.",
                input=[
                    {"role": "user", "content": [{"type": "input_text", "text": "Weather?"}]},
                    {
                        "type": "function_call",
                        "call_id": "c1",
                        "name": "weather",
                        "arguments": "{}",
                    },
                    {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
                ],
                tools=[
                    {"type": "function", "name": "weather", "parameters": schema, "strict": True}
                ],
                tool_choice={"type": "function", "name": "weather"},
                parallel_tool_calls=False,
                text={"format": {"type": "json_schema", "name": "out", "schema": schema}},
                reasoning={"effort": "low"},
                temperature=0.5,
                top_p=0.9,
                max_output_tokens=99,
            )
        body = fake.requests[-1].body
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Weather?"}]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ]
    assert body["tools"] == [
        {
            "type": "function",
            "function": {"name": "weather", "parameters": schema, "strict": True},
        }
    ]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "weather"}}
    assert body["parallel_tool_calls"] is False
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "out", "schema": schema},
    }
    assert body["reasoning_effort"] == "low"
    assert (body["temperature"], body["top_p"], body["max_completion_tokens"]) == (0.5, 0.9, 99)


PIXEL = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


async def test_an_image_in_a_function_call_output_is_refused_by_an_openai_upstream() -> None:
    """Chat Completions' tool messages take text only: refused naming ``input``, not dropped."""
    upstream: Upstream = UPSTREAMS[0].values[0]  # type: ignore[assignment]
    image = {"type": "input_image", "image_url": f"data:image/png;base64,{PIXEL}"}
    items: Any = [
        {"role": "user", "content": "Take a screenshot."},
        {"type": "function_call", "call_id": "c1", "name": "shot", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": [image]},
    ]
    with FakeOpenAI() as fake:
        async with client_for(upstream, fake) as client:
            with pytest.raises(openai.BadRequestError) as caught:
                await client.responses.create(model=upstream.model, input=items)
        assert fake.requests == []
    assert caught.value.code == "unsupported_parameter"
    assert caught.value.param == "input"


async def test_tool_settings_without_tools_are_not_sent_to_an_openai_upstream() -> None:
    """OpenAI refuses ``tool_choice`` and ``parallel_tool_calls`` without ``tools`` (the fake
    too): with no tools they ask for nothing, so they stay home."""
    upstream: Upstream = UPSTREAMS[0].values[0]  # type: ignore[assignment]
    with FakeOpenAI(Reply(pieces=("Hi",))) as fake:
        async with client_for(upstream, fake) as client:
            answer = await client.responses.create(
                model=upstream.model, input="Hi", tool_choice="none", parallel_tool_calls=False
            )
        [sent] = [request.body for request in fake.requests]
    assert answer.output_text == "Hi"
    assert "tool_choice" not in sent
    assert "parallel_tool_calls" not in sent
