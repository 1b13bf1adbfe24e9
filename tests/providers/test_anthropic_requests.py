"""What reaches the Messages API, through the real ``anthropic`` SDK and the loopback fake:
images and documents, tool calls and results, thinking handed back byte-exact, tools and
their choice, thinking budgets, response formats; and what is refused before any call."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from tests.providers.conftest import Run

from llmrelay import ChatRequest
from llmrelay.blocks import BlockCollector
from llmrelay.config import Settings
from llmrelay.errors import InvalidRequest, UnsupportedParameter, UpstreamBadRequest
from llmrelay.events import Finish, ReasoningBlock, TextBlock, ToolCall
from llmrelay.models import assistant_message
from llmrelay.providers.anthropic import DEFAULT_MAX_TOKENS
from llmrelay.providers.anthropic_params import JSON_TOOL, THINKING_BUDGETS
from llmrelay.secrets import StaticSecrets
from llmrelay.testing import FakeAnthropic, FakeToolCall, Reply

KEY = "sk-ant-api03-requests-0123456789abcdef"
MODEL = "anthropic/claude-sonnet-4-6"
PNG = "iVBORw0KGgo="
PDF = "JVBERi0xLjQK"
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
ZURICH = {"city": "Zürich"}
WEATHER = {"name": "weather", "description": "The weather", "parameters": SCHEMA}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as running:
        yield running


@pytest.fixture
def fake(server: FakeAnthropic) -> FakeAnthropic:
    server.replies.clear()
    server.requests.clear()
    return server


@pytest.fixture
def ask(fake: FakeAnthropic, run: Run) -> Any:
    """``await ask(**fields)``: the outcome of one chat with those request fields."""
    settings = Settings.from_env({"LLMRELAY_ANTHROPIC_BASE_URL": fake.url})
    secrets = StaticSecrets({"ANTHROPIC_API_KEY": KEY})

    async def ask(**fields: Any) -> Any:
        messages = fields.pop("messages", [{"role": "user", "content": "hi"}])
        request = ChatRequest.parse({"model": MODEL, "messages": messages, **fields})
        return await run(request, settings, secrets)

    return ask


def png_block(media_type: str = "image/png") -> dict[str, Any]:
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": PNG}}


def sent(fake: FakeAnthropic) -> dict[str, Any]:
    body: dict[str, Any] = fake.requests[-1].body
    return body


# --- content ----------------------------------------------------------------------------------


async def test_images_and_documents_arrive_as_anthropic_blocks(
    fake: FakeAnthropic, ask: Any
) -> None:
    notes = base64.b64encode("Grüße".encode()).decode()
    parts = [
        {"type": "text", "text": "What are these?"},
        {"type": "image", "data": PNG, "media_type": "image/png"},
        {"type": "image", "url": f"data:image/webp;base64,{PNG}"},
        {"type": "image", "url": "https://example.test/cat.jpg"},
        {"type": "file", "data": PDF, "media_type": "application/pdf", "filename": "a.pdf"},
        {"type": "file", "data": notes, "media_type": "text/plain"},
    ]
    outcome = await ask(messages=[{"role": "user", "content": parts}])
    assert outcome.error is None
    assert sent(fake)["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What are these?"},
                png_block(),
                png_block("image/webp"),
                {"type": "image", "source": {"type": "url", "url": "https://example.test/cat.jpg"}},
                {
                    "type": "document",
                    "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
                    "title": "a.pdf",
                },
                {
                    "type": "document",
                    "source": {"type": "text", "media_type": "text/plain", "data": "Grüße"},
                },
            ],
        }
    ]


async def test_a_text_file_that_is_not_utf8_is_refused_before_any_call(
    fake: FakeAnthropic, ask: Any
) -> None:
    latin1 = base64.b64encode("Grüße".encode("latin-1")).decode()
    part = {"type": "file", "data": latin1, "media_type": "text/plain"}
    outcome = await ask(messages=[{"role": "user", "content": [part]}])
    assert type(outcome.error) is InvalidRequest
    assert "text/plain" in outcome.error.message
    assert fake.requests == []


CALL = {"type": "tool_call", "id": "toolu_1", "name": "weather", "arguments": '{"city":"Zürich"}'}
CALL_2 = {"type": "tool_call", "id": "toolu_2", "name": "clock", "arguments": ""}


async def test_tool_calls_and_results_become_tool_use_and_one_user_turn_of_results(
    fake: FakeAnthropic, ask: Any
) -> None:
    image = {"type": "image", "data": PNG, "media_type": "image/png"}
    messages = [
        {"role": "user", "content": "Weather and time?"},
        {"role": "assistant", "content": [{"type": "text", "text": "Checking."}, CALL, CALL_2]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "12 °C"},
        {
            "role": "tool",
            "tool_call_id": "toolu_2",
            "content": [{"type": "text", "text": "9:00"}, image],
        },
        {"role": "user", "content": "Thanks"},
    ]
    outcome = await ask(messages=messages, tools=[WEATHER, {"name": "clock"}])
    assert outcome.error is None
    assert sent(fake)["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": ZURICH},
                {"type": "tool_use", "id": "toolu_2", "name": "clock", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "12 °C"},
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_2",
                    "content": [
                        {"type": "text", "text": "9:00"},
                        png_block(),
                    ],
                },
            ],
        },
        {"role": "user", "content": "Thanks"},
    ]


async def test_a_tool_result_for_an_unknown_call_is_refused_before_any_call(
    fake: FakeAnthropic, ask: Any
) -> None:
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "tool", "tool_call_id": "toolu_nope", "content": "x"},
    ]
    with pytest.raises(InvalidRequest, match="no earlier tool call"):
        await ask(messages=messages)
    assert fake.requests == []


# --- thinking handed back -------------------------------------------------------------------------


async def test_a_thinking_signature_round_trips_byte_identical_through_a_second_turn(
    fake: FakeAnthropic, ask: Any
) -> None:
    signature = "EqQBCkYIBxgCKkD/+ab==\\u2028"
    call = FakeToolCall("toolu_9", "weather", ('{"city": "Zü', 'rich"}'))
    fake.queue(
        Reply(
            reasoning=("The user wants ", "the wéather."),
            signature=signature,
            redacted=("EmwKAhgBEgy3va3pzix/LafPsn4a==",),
            pieces=("Let me look.",),
            tool_calls=(call,),
            finish_reason="tool_calls",
        ),
        Reply(pieces=("12 °C in Zürich.",)),
    )
    first = await ask(tools=[WEATHER], reasoning_effort="low")
    collector = BlockCollector()
    collector.extend(first.events)
    blocks = collector.blocks()
    assert blocks == [
        ReasoningBlock("The user wants the wéather.", signature),
        ReasoningBlock("", None, "EmwKAhgBEgy3va3pzix/LafPsn4a=="),
        TextBlock("Let me look."),
        ToolCall("toolu_9", "weather", call.arguments),
    ]
    history = [
        {"role": "user", "content": "hi"},
        assistant_message(blocks).model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": "toolu_9", "content": "12 °C"},
    ]
    second = await ask(messages=history, tools=[WEATHER], reasoning_effort="low")

    assert second.error is None, second.error
    assert second.deltas == ["12 °C in Zürich."]
    assert sent(fake)["messages"][1] == {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "The user wants the wéather.", "signature": signature},
            {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a=="},
            {"type": "text", "text": "Let me look."},
            {"type": "tool_use", "id": "toolu_9", "name": "weather", "input": {"city": "Zürich"}},
        ],
    }


async def test_an_altered_signature_is_refused_by_the_upstream(
    fake: FakeAnthropic, ask: Any
) -> None:
    fake.queue(Reply(reasoning=("Hm.",), pieces=("ok",)))
    first = await ask()
    [thinking, _] = [e.block for e in first.events if hasattr(e, "block")]
    assert isinstance(thinking, ReasoningBlock)
    assert thinking.signature
    altered = {"type": "reasoning", "text": "Hm.", "signature": thinking.signature[:-2] + "x="}
    history = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [altered, {"type": "text", "text": "ok"}]},
        {"role": "user", "content": "and?"},
    ]
    second = await ask(messages=history)
    assert type(second.error) is UpstreamBadRequest
    assert "signature" in second.error.message


async def test_reasoning_without_a_signature_is_not_handed_to_anthropic(
    fake: FakeAnthropic, ask: Any
) -> None:
    unsigned = {"type": "reasoning", "text": "another provider's thoughts"}
    history = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [unsigned, {"type": "text", "text": "Hello"}]},
        {"role": "user", "content": "and?"},
    ]
    await ask(messages=history)
    assert sent(fake)["messages"][1] == {
        "role": "assistant",
        "content": [{"type": "text", "text": "Hello"}],
    }


# --- options --------------------------------------------------------------------------------------

CHOICES = {
    "unset": ({}, None),
    "auto": ({"tool_choice": "auto"}, {"type": "auto"}),
    "none": ({"tool_choice": "none"}, {"type": "none"}),
    "required": ({"tool_choice": "required"}, {"type": "any"}),
    "named": ({"tool_choice": {"name": "weather"}}, {"type": "tool", "name": "weather"}),
    "no-parallel": (
        {"parallel_tool_calls": False},
        {"type": "auto", "disable_parallel_tool_use": True},
    ),
    "required-no-parallel": (
        {"tool_choice": "required", "parallel_tool_calls": False},
        {"type": "any", "disable_parallel_tool_use": True},
    ),
    "parallel-allowed": ({"parallel_tool_calls": True}, None),
}


@pytest.mark.parametrize(("fields", "expected"), CHOICES.values(), ids=CHOICES.keys())
async def test_tools_and_tool_choice_reach_the_upstream(
    fake: FakeAnthropic, ask: Any, fields: dict[str, Any], expected: dict[str, Any] | None
) -> None:
    await ask(tools=[{**WEATHER, "strict": True}, {"name": "clock"}], **fields)
    body = sent(fake)
    assert body["tools"] == [
        {"name": "weather", "input_schema": SCHEMA, "description": "The weather", "strict": True},
        {"name": "clock", "input_schema": {"type": "object", "properties": {}}},
    ]
    assert body.get("tool_choice") == expected


async def test_stop_and_sampling_reach_the_upstream(fake: FakeAnthropic, ask: Any) -> None:
    await ask(stop=["END", "STOP"], top_p=0.5, top_k=40, temperature=0.2, user="u-1")
    body = sent(fake)
    assert (body["stop_sequences"], body["top_p"], body["temperature"]) == (
        ["END", "STOP"],
        0.5,
        0.2,
    )
    assert body["top_k"] == 40
    assert body["metadata"] == {"user_id": "u-1"}


@pytest.mark.parametrize("effort", ["minimal", "low", "medium", "high"])
async def test_reasoning_effort_becomes_a_thinking_budget_below_max_tokens(
    fake: FakeAnthropic, ask: Any, effort: str
) -> None:
    budget = THINKING_BUDGETS[effort]  # type: ignore[index]
    outcome = await ask(reasoning_effort=effort)
    assert outcome.error is None  # the fake refuses a budget not below max_tokens, as the API does
    body = sent(fake)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert body["max_tokens"] == DEFAULT_MAX_TOKENS + budget


async def test_reasoning_effort_keeps_a_max_tokens_above_its_budget(
    fake: FakeAnthropic, ask: Any
) -> None:
    await ask(reasoning_effort="low", max_tokens=3000, top_p=0.95)
    assert (sent(fake)["max_tokens"], sent(fake)["thinking"]["budget_tokens"]) == (3000, 2048)


@pytest.mark.parametrize(("effort", "max_tokens"), [("low", 2048), ("high", 1025)])
async def test_reasoning_effort_fits_its_budget_under_a_smaller_max_tokens(
    fake: FakeAnthropic, ask: Any, effort: str, max_tokens: int
) -> None:
    """``max_tokens`` is the caller's hard limit, the effort a hint: a budget that would not
    fit below it shrinks to fit (the Messages dialect's own ``budget_tokens: 1024`` with
    ``max_tokens: 2048`` asks for ``low``), as long as Anthropic's least budget fits."""
    outcome = await ask(reasoning_effort=effort, max_tokens=max_tokens)
    assert outcome.error is None  # the fake refuses a budget not below max_tokens, as the API does
    body = sent(fake)
    assert body["max_tokens"] == max_tokens
    assert body["thinking"] == {"type": "enabled", "budget_tokens": max_tokens - 1}


async def test_reasoning_effort_none_disables_thinking(fake: FakeAnthropic, ask: Any) -> None:
    await ask(reasoning_effort="none", temperature=0.3)
    assert sent(fake)["thinking"] == {"type": "disabled"}
    assert sent(fake)["max_tokens"] == DEFAULT_MAX_TOKENS


async def test_json_schema_is_native_structured_output(fake: FakeAnthropic, ask: Any) -> None:
    fake.queue(Reply(pieces=('{"city": ', '"Zürich"}')))
    fmt = {"type": "json_schema", "name": "place", "schema": SCHEMA, "strict": True}
    outcome = await ask(response_format=fmt)
    assert json.loads("".join(outcome.deltas)) == {"city": "Zürich"}
    strict = {**SCHEMA, "additionalProperties": False}
    assert sent(fake)["output_config"] == {"format": {"type": "json_schema", "schema": strict}}
    assert "tools" not in sent(fake)


async def test_json_object_is_a_forced_tool_whose_input_streams_as_text(
    fake: FakeAnthropic, ask: Any
) -> None:
    answer = FakeToolCall("toolu_j", JSON_TOOL, ('{"tasks": [{"title": "Tée', '"}]}'))
    fake.queue(Reply(pieces=(), tool_calls=(answer,), finish_reason="tool_calls"))
    outcome = await ask(response_format={"type": "json_object"})
    assert outcome.error is None
    assert json.loads("".join(outcome.deltas)) == {"tasks": [{"title": "Tée"}]}
    collector = BlockCollector()
    collector.extend(outcome.events)
    assert collector.blocks() == [TextBlock('{"tasks": [{"title": "Tée"}]}')]
    assert outcome.finish == Finish("stop", outcome.finish.usage)
    body = sent(fake)
    assert body["tool_choice"] == {"type": "tool", "name": JSON_TOOL}
    assert [tool["name"] for tool in body["tools"]] == [JSON_TOOL]


REFUSED = {
    "seed": ({"seed": 7}, "seed"),
    "max-tokens-at-the-budget": ({"reasoning_effort": "minimal", "max_tokens": 1024}, "max_tokens"),
    "temperature-with-thinking": ({"reasoning_effort": "low", "temperature": 0.5}, "temperature"),
    "top-p-with-thinking": ({"reasoning_effort": "low", "top_p": 0.5}, "top_p"),
    "top-k-with-thinking": ({"reasoning_effort": "low", "top_k": 5}, "top_k"),
    "forced-tool-with-thinking": (
        {"reasoning_effort": "low", "tools": [WEATHER], "tool_choice": "required"},
        "tool_choice",
    ),
    "json-object-with-tools": (
        {"response_format": {"type": "json_object"}, "tools": [WEATHER]},
        "response_format",
    ),
    "json-object-with-thinking": (
        {"response_format": {"type": "json_object"}, "reasoning_effort": "high"},
        "response_format",
    ),
}  # fmt: skip


@pytest.mark.parametrize(("fields", "param"), REFUSED.values(), ids=REFUSED.keys())
async def test_what_anthropic_cannot_take_is_refused_before_any_upstream_call(
    fake: FakeAnthropic, ask: Any, fields: dict[str, Any], param: str
) -> None:
    error = (await ask(**fields)).error
    assert type(error) is UnsupportedParameter
    assert (error.param, error.status, error.provider) == (param, 400, "anthropic")
    assert param in error.message
    assert "anthropic" in error.message
    assert fake.requests == []


async def test_a_schema_the_sdk_cannot_make_strict_is_refused_naming_it(
    fake: FakeAnthropic, ask: Any
) -> None:
    schema = {"type": "object", "properties": {"anything": {}}}
    outcome = await ask(response_format={"type": "json_schema", "schema": schema})
    assert type(outcome.error) is InvalidRequest
    assert outcome.error.message.startswith("response_format.schema: ")
    assert fake.requests == []
