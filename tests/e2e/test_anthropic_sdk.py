"""The official ``anthropic`` SDK uses the gateway as its ``base_url``, through ``make dev``'s
emulator (function URL front, Runtime API, worker processes)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anthropic
import pytest
from anthropic import AsyncAnthropic
from tests.e2e.emulator import Emulator

pytestmark = pytest.mark.e2e

LONG = " ".join(f"word{n}" for n in range(60))  # 60 x 120 ms: longer than the slow deadline


def client_for(emulator: Emulator) -> AsyncAnthropic:
    return AsyncAnthropic(base_url=emulator.url, api_key="unused", max_retries=0, timeout=20)


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[AsyncAnthropic]:
    async with client_for(emulator) as made:
        yield made


@pytest.fixture
async def slow_client(slow_emulator: Emulator) -> AsyncIterator[AsyncAnthropic]:
    async with client_for(slow_emulator) as made:
        yield made


async def test_messages_stream_yields_the_text_and_the_final_message(
    client: AsyncAnthropic,
) -> None:
    async with client.messages.stream(
        model="echo/echo",
        max_tokens=100,
        messages=[{"role": "user", "content": "hello through the emulator"}],
    ) as stream:
        pieces = [text async for text in stream.text_stream]
        final = await stream.get_final_message()
    assert pieces == ["hello ", "through ", "the ", "emulator"]
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 4


async def test_the_echo_demo_gives_thinking_and_a_tool_call_through_the_emulator(
    client: AsyncAnthropic,
) -> None:
    async with client.messages.stream(
        model="echo/echo",
        max_tokens=2048,
        messages=[{"role": "user", "content": "/demo Bergen"}],
        thinking={"type": "enabled", "budget_tokens": 1024},
    ) as stream:
        final = await stream.get_final_message()
    assert [block.type for block in final.content] == ["thinking", "text", "tool_use"]
    assert final.content[0].signature  # type: ignore[union-attr]
    assert final.content[2].input == {"text": "Bergen"}  # type: ignore[union-attr]
    assert final.stop_reason == "tool_use"


async def test_messages_create_answers_one_message(client: AsyncAnthropic) -> None:
    answer = await client.messages.create(
        model="echo/echo",
        max_tokens=100,
        system="Be brief.",
        messages=[{"role": "user", "content": "hello batch"}],
    )
    assert [block.to_dict() for block in answer.content] == [
        {"type": "text", "text": "hello batch"}
    ]


async def test_an_unknown_model_raises_bad_request(client: AsyncAnthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        await client.messages.create(
            model="nope/model", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.error_code == "unknown_model"


async def read_into(seen: list[str], client: AsyncAnthropic) -> None:
    async with client.messages.stream(
        model="echo/echo", max_tokens=1000, messages=[{"role": "user", "content": LONG}]
    ) as stream:
        async for text in stream.text_stream:
            seen.append(text)


async def test_the_deadline_mid_answer_is_an_error_event_the_sdk_raises(
    slow_client: AsyncAnthropic,
) -> None:
    seen: list[str] = []
    with pytest.raises(anthropic.APIStatusError) as caught:
        await read_into(seen, slow_client)
    assert "".join(seen).startswith("word0 word1 ")
    assert caught.value.error_code == "deadline_exceeded"
    assert caught.value.type == "timeout_error"
