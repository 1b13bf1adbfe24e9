"""The official ``openai`` SDK uses the gateway as its ``base_url``, through ``make dev``'s
emulator (function URL front, Runtime API, worker processes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI
from tests.e2e.emulator import Emulator

pytestmark = pytest.mark.e2e

LONG = " ".join(f"word{n}" for n in range(60))  # 60 x 120 ms: longer than the slow deadline


def client_for(emulator: Emulator) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=f"{emulator.url}/v1", api_key="unused", max_retries=0, timeout=20)


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[AsyncOpenAI]:
    async with client_for(emulator) as made:
        yield made


@pytest.fixture
async def slow_client(slow_emulator: Emulator) -> AsyncIterator[AsyncOpenAI]:
    async with client_for(slow_emulator) as made:
        yield made


async def test_a_streamed_answer_arrives_in_chunks_with_usage_last(client: AsyncOpenAI) -> None:
    stream = await client.chat.completions.create(
        model="echo/echo",
        messages=[{"role": "user", "content": "hello through the emulator"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    pieces = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert pieces == ["hello ", "through ", "the ", "emulator"]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 4


async def test_a_non_streamed_answer_is_one_chat_completion(client: AsyncOpenAI) -> None:
    answer = await client.chat.completions.create(
        model="echo/echo",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hello batch"},
        ],
    )
    assert answer.choices[0].message.content == "hello batch"
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + 2


async def test_the_model_list_names_echo(client: AsyncOpenAI) -> None:
    assert [model.id async for model in client.models.list()] == ["echo/echo"]


async def test_an_unknown_model_raises_bad_request_before_any_chunk(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(
            model="nope/model", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    assert caught.value.code == "unknown_model"


async def read_into(seen: list[str], client: AsyncOpenAI, prompt: str) -> None:
    stream = await client.chat.completions.create(
        model="echo/echo", messages=[{"role": "user", "content": prompt}], stream=True
    )
    async for chunk in stream:
        seen.append(chunk.choices[0].delta.content or "")


async def test_the_deadline_mid_answer_raises_an_api_error_in_the_stream(
    slow_client: AsyncOpenAI,
) -> None:
    seen: list[str] = []
    with pytest.raises(openai.APIError) as caught:
        await read_into(seen, slow_client, LONG)
    assert "".join(seen).startswith("word0 word1 ")
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["code"] == "deadline_exceeded"


async def test_responses_create_answers_one_response_through_the_emulator(
    client: AsyncOpenAI,
) -> None:
    response = await client.responses.create(
        model="echo/echo", input="hello responses", instructions="Be brief."
    )
    assert response.status == "completed"
    assert response.output_text == "hello responses"
    assert response.usage is not None
    assert response.usage.output_tokens == 2


async def test_responses_stream_carries_reasoning_and_a_tool_call_through_the_emulator(
    client: AsyncOpenAI,
) -> None:
    tool: Any = {"type": "function", "name": "weather", "parameters": None, "strict": False}
    async with client.responses.stream(
        model="echo/echo", input="/demo Zürich", tools=[tool]
    ) as stream:
        kinds = [event.type async for event in stream]
        final = await stream.get_final_response()
    assert [item.type for item in final.output] == ["reasoning", "message", "function_call"]
    assert final.output_text == "Zürich"
    assert kinds[0] == "response.created"
    assert kinds[-1] == "response.completed"
    assert "response.reasoning_summary_text.delta" in kinds
    assert "response.function_call_arguments.delta" in kinds


async def test_the_deadline_mid_answer_ends_a_responses_stream_as_failed(
    slow_client: AsyncOpenAI,
) -> None:
    stream = await slow_client.responses.create(model="echo/echo", input=LONG, stream=True)
    events = [event async for event in stream]
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas.startswith("word0 word1 ")
    last = events[-1]
    assert last.type == "response.failed"
    assert last.response.error is not None
    assert last.response.error.to_dict()["code"] == "deadline_exceeded"
