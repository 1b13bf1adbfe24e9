"""Anthropic Messages request bodies read into the neutral request: every block and
parameter honoured, ignored by name, or refused with a 400 that names its path."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from llmrelay.config import get_settings
from llmrelay.errors import InvalidRequest, UnknownModel
from llmrelay.parts import FilePart, ImagePart, ReasoningPart, TextPart, ToolCallPart
from llmrelay.protocols.anthropic_request import (
    IGNORED_PARAMETERS,
    AnthropicRequest,
    dialect_names,
    parse_anthropic_request,
)
from llmrelay.providers.registry import resolve

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()
PDF = base64.b64encode(b"%PDF-1.4 hello").decode()
SIGNATURE = "EqQBCkgIARABGAIiQL+/sig=="
HI: Any = [{"role": "user", "content": "hi"}]


@pytest.fixture
def high_ceiling(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A ``max_tokens`` ceiling that leaves room for the largest thinking budgets."""
    monkeypatch.setenv("LLMRELAY_MAX_TOKENS_CEILING", "64000")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def parse(**fields: Any) -> AnthropicRequest:
    body = {"model": "echo/echo", "max_tokens": 1024, "messages": HI, **fields}
    return parse_anthropic_request({k: v for k, v in body.items() if v is not None})


def refused(**fields: Any) -> str:
    with pytest.raises(InvalidRequest) as caught:
        parse(**fields)
    assert caught.value.status == 400
    return caught.value.message


def test_a_plain_request_is_a_chat_with_its_limits() -> None:
    ask = parse(stream=True, temperature=0.5, top_p=0.9, top_k=40, stop_sequences=["END"])
    chat = ask.chat
    assert ask.stream
    assert chat.stream
    assert chat.model == "echo/echo"
    assert (chat.max_tokens, chat.temperature, chat.top_p, chat.stop) == (1024, 0.5, 0.9, ["END"])
    assert chat.top_k == 40
    assert [(m.role, m.content) for m in chat.messages] == [("user", "hi")]


def test_without_stream_the_answer_is_one_message() -> None:
    assert not parse().stream


@pytest.mark.parametrize(
    "system",
    ["Be brief.", [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]],
    ids=["string", "blocks"],
)
def test_the_system_prompt_is_a_system_message(system: Any) -> None:
    messages = parse(system=system).chat.messages
    assert [(m.role, m.text) for m in messages] == [("system", "Be brief."), ("user", "hi")]


def test_each_system_block_is_its_own_system_message() -> None:
    system = [{"type": "text", "text": "One."}, {"type": "text", "text": "Two."}]
    messages = parse(system=system).chat.messages
    assert [m.text for m in messages if m.role == "system"] == ["One.", "Two."]


def test_user_blocks_become_parts() -> None:
    content = [
        {"type": "text", "text": "Look:"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
            "title": "a.pdf",
        },
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "hé"}},
    ]
    [message] = parse(messages=[{"role": "user", "content": content}]).chat.messages
    assert message.parts == [
        TextPart(type="text", text="Look:"),
        ImagePart(type="image", data=PNG, media_type="image/png"),
        ImagePart(type="image", url="https://example.com/a.png"),
        FilePart(type="file", data=PDF, media_type="application/pdf", filename="a.pdf"),
        FilePart(
            type="file", data=base64.b64encode("hé".encode()).decode(), media_type="text/plain"
        ),
    ]


def conversation(result: dict[str, Any], *after: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "Use the tool.", "signature": SIGNATURE},
                {"type": "redacted_thinking", "data": "QUJD"},
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Zü"}},
            ],
        },
        {"role": "user", "content": [result, *after]},
    ]


def test_an_assistant_turn_keeps_its_reasoning_signature_and_tool_call_exactly() -> None:
    result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}
    messages = parse(messages=conversation(result)).chat.messages
    assert messages[1].parts == [
        ReasoningPart(type="reasoning", text="Use the tool.", signature=SIGNATURE),
        ReasoningPart(type="reasoning", redacted="QUJD"),
        TextPart(type="text", text="Checking."),
        ToolCallPart(type="tool_call", id="toolu_1", name="weather", arguments='{"city": "Zü"}'),
    ]
    assert (messages[2].role, messages[2].tool_call_id, messages[2].content) == (
        "tool",
        "toolu_1",
        "sunny",
    )


def test_a_tool_result_is_a_tool_message_in_its_place_before_the_text_after_it() -> None:
    result = {
        "type": "tool_result",
        "tool_use_id": "toolu_1",
        "content": [{"type": "text", "text": "sunny"}],
    }
    messages = parse(
        messages=conversation(result, {"type": "text", "text": "thanks"})
    ).chat.messages
    assert [m.role for m in messages] == ["user", "assistant", "tool", "user"]
    assert messages[2].parts == [TextPart(type="text", text="sunny")]
    assert messages[3].content == "thanks"


@pytest.mark.parametrize(
    ("content", "expected"),
    [("no such city", "Error: no such city"), (None, 'Error: ""')],
    ids=["text", "empty"],
)
def test_a_failed_tool_result_says_so_in_its_text(content: Any, expected: str) -> None:
    result = {"type": "tool_result", "tool_use_id": "toolu_1", "is_error": True}
    if content is not None:
        result["content"] = content
    messages = parse(messages=conversation(result)).chat.messages
    assert messages[2].content == expected


def test_a_thinking_block_without_a_signature_comes_back_without_one() -> None:
    messages = [
        *HI,
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "x", "signature": ""}]},
        {"role": "user", "content": "go on"},
    ]
    part = parse(messages=messages).chat.messages[1].parts[0]
    assert part == ReasoningPart(type="reasoning", text="x")


def test_what_the_sdk_sends_back_as_null_is_taken() -> None:
    assistant = {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "a", "citations": None},
            {"type": "tool_use", "id": "t", "name": "n", "input": {}, "caller": {"type": "direct"}},
        ],
    }
    result = {"type": "tool_result", "tool_use_id": "t", "content": "ok"}
    messages = [*HI, assistant, {"role": "user", "content": [result]}]
    assert [m.role for m in parse(messages=messages).chat.messages] == ["user", "assistant", "tool"]


def tool(**extra: Any) -> dict[str, Any]:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    return {"name": "weather", "description": "Weather.", "input_schema": schema, **extra}


@pytest.mark.parametrize(
    ("choice", "expected", "parallel"),
    [
        ({"type": "auto"}, "auto", None),
        ({"type": "any"}, "required", None),
        ({"type": "none"}, "none", None),
        ({"type": "auto", "disable_parallel_tool_use": True}, "auto", False),
        ({"type": "any", "disable_parallel_tool_use": False}, "required", None),
    ],
)
def test_tool_choice_maps_to_the_neutral_choice(
    choice: dict[str, Any], expected: str, parallel: bool | None
) -> None:
    chat = parse(tools=[tool(cache_control={"type": "ephemeral"})], tool_choice=choice).chat
    assert chat.tool_choice == expected
    assert chat.parallel_tool_calls is parallel
    [neutral] = chat.tools or []
    assert (neutral.name, neutral.description) == ("weather", "Weather.")
    assert neutral.parameters == tool()["input_schema"]


def test_a_choice_of_one_tool_names_it() -> None:
    chat = parse(tools=[tool(strict=True)], tool_choice={"type": "tool", "name": "weather"}).chat
    assert chat.tool_choice is not None
    assert getattr(chat.tool_choice, "name", None) == "weather"
    assert (chat.tools or [])[0].strict is True


@pytest.mark.parametrize(
    ("thinking", "effort"),
    [
        ({"type": "enabled", "budget_tokens": 1024}, "minimal"),
        ({"type": "enabled", "budget_tokens": 2047}, "minimal"),
        ({"type": "enabled", "budget_tokens": 2048}, "low"),
        ({"type": "enabled", "budget_tokens": 8192}, "medium"),
        ({"type": "enabled", "budget_tokens": 16383}, "medium"),
        ({"type": "enabled", "budget_tokens": 31999}, "high"),
        ({"type": "adaptive"}, "medium"),
        ({"type": "disabled"}, None),
    ],
)
def test_thinking_asks_for_reasoning_by_its_budget(
    thinking: Any, effort: str | None, high_ceiling: None
) -> None:
    assert parse(max_tokens=32000, thinking=thinking).chat.reasoning_effort == effort


@pytest.mark.parametrize(("given", "effort"), [("low", "low"), ("max", "high")])
def test_an_explicit_effort_wins(given: str, effort: str) -> None:
    thinking = {"type": "enabled", "budget_tokens": 2000}
    chat = parse(thinking=thinking, max_tokens=4000, output_config={"effort": given}).chat
    assert chat.reasoning_effort == effort


def test_the_output_format_is_the_response_format_and_metadata_the_user() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    chat = parse(
        output_config={"format": {"type": "json_schema", "schema": schema}},
        metadata={"user_id": "person-1"},
    ).chat
    assert chat.response_format is not None
    assert (chat.response_format.type, chat.response_format.json_schema) == ("json_schema", schema)
    assert chat.user == "person-1"


def test_ignored_parameters_are_accepted() -> None:
    values = dict.fromkeys(IGNORED_PARAMETERS, "x") | {"cache_control": {"type": "ephemeral"}}
    assert parse(**values).chat.messages[0].content == "hi"


def test_llmrelays_own_fields_ride_along() -> None:
    chat = parse(thread_id="t-1").chat
    assert chat.thread_id == "t-1"


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"max_tokens": None}, "max_tokens: Field required"),
        ({"bogus": 1}, "bogus: Extra inputs are not permitted"),
        ({"container": "c"}, "container: Extra inputs are not permitted"),
        ({"messages": []}, "messages: must be a non-empty list"),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages.0.role: must be"),
        ({"messages": [{"role": "user", "content": "x", "name": "n"}]}, "messages.0.name"),
        ({"messages": [{"role": "user", "content": 3}]}, "messages.0.content: must be"),
        (
            {"messages": [{"role": "user", "content": [{"type": "server_tool_use"}]}]},
            "messages.0.content.0.type: 'server_tool_use' blocks are not supported",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "text", "text": "a", "x": 1}]}]},
            "messages.0.content.0.x: unknown field",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "text", "text": "a", "citations": [{"x": 1}]}],
                    }
                ]
            },
            "messages.0.content.0.citations: not supported",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "tool_result", "tool_use_id": "nope", "content": "x"}],
                    }
                ]
            },
            "messages.0.content.0.tool_use_id: no earlier tool_use block",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image", "source": {"type": "file", "file_id": "f"}}],
                    }
                ]
            },
            "messages.0.content.0.source.type: only base64 and url",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "document", "source": {"type": "url", "url": "https://x"}}
                        ],
                    }
                ]
            },
            "messages.0.content.0.source.type: only base64 and text",
        ),
        (
            {
                "messages": [
                    *HI,
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "image",
                                "source": {
                                    "type": "base64",
                                    "media_type": "image/png",
                                    "data": "!",
                                },
                            }
                        ],
                    },
                ]
            },
            "messages.1.content.0",
        ),
        ({"tools": [{"name": "w"}]}, "tools.0.input_schema: Field required"),
        (
            {"tools": [{"type": "web_search_20250305", "name": "web_search"}]},
            "tools.0.type: 'web_search_20250305' tools are not supported",
        ),
        ({"tools": [tool(input_schema={"type": "string"})]}, "input_schema must describe"),
        ({"tool_choice": {"type": "sometimes"}}, "tool_choice.type: must be one of"),
        (
            {"tools": [tool()], "tool_choice": {"type": "auto", "name": "weather"}},
            "tool_choice.name: only a choice of type 'tool'",
        ),
        ({"thinking": {"type": "enabled", "budget_tokens": 100}}, "at least 1024"),
        ({"thinking": {"type": "enabled", "budget_tokens": 2048}}, "less than max_tokens"),
        ({"thinking": {"type": "enabled"}}, "thinking.budget_tokens: must be an integer"),
        ({"thinking": {"type": "sometimes"}}, "thinking.type: must be one of"),
        ({"thinking": {"type": "adaptive", "display": "omitted"}}, "thinking.display"),
        ({"output_config": {"effort": "extreme"}}, "output_config.effort: must be one of"),
        ({"output_config": {"format": {"type": "xml"}}}, "output_config.format.type"),
        ({"metadata": {"user_id": "u", "team": "t"}}, "metadata.team: Extra inputs"),
        ({"metadata": {"user_id": ""}}, "metadata.user_id:"),
        ({"stop_sequences": [""]}, "stop_sequences: each stop sequence"),
        ({"stream": "yes"}, "stream: must be true or false"),
        ({"system": [{"type": "image"}]}, "system.0.type: 'image' blocks are not supported"),
        ({"system": 3}, "system: must be a string or a list of text blocks"),
    ],
)
def test_what_cannot_be_honoured_is_refused_by_name(fields: dict[str, Any], named: str) -> None:
    body = {"model": "echo/echo", "max_tokens": 1024, "messages": HI, **fields}
    body = {k: v for k, v in body.items() if v is not None}
    with pytest.raises(InvalidRequest) as caught:
        parse_anthropic_request(body)
    assert named in caught.value.message


def test_a_body_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="body: must be a JSON object"):
        parse_anthropic_request([1])


def test_neutral_names_read_as_the_dialects_own() -> None:
    assert dialect_names("reasoning_effort: not supported by provider 'x'") == (
        "thinking: not supported by provider 'x'"
    )
    assert dialect_names("stop: bad; user: bad") == "stop_sequences: bad; metadata.user_id: bad"
    assert dialect_names("messages.1.content: x", ["system", "messages.0"]) == (
        "messages.0.content: x"
    )


def test_a_tool_input_becomes_the_calls_json_arguments() -> None:
    result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}
    call = parse(messages=conversation(result)).chat.messages[1].tool_calls[0]
    assert json.loads(call.arguments) == {"city": "Zü"}


@pytest.mark.parametrize(
    ("sent", "model"),
    [
        ("claude-sonnet-4-6", "anthropic/claude-sonnet-4-6"),  # what Claude Code sends
        ("anthropic/claude-sonnet-4-6", "anthropic/claude-sonnet-4-6"),
        ("bedrock/claude-x", "bedrock/claude-x"),
        ("echo/echo", "echo/echo"),
    ],
)
def test_a_bare_claude_model_name_means_anthropics(sent: str, model: str) -> None:
    ask = parse_anthropic_request({"model": sent, "max_tokens": 64, "messages": HI})
    assert ask.chat.model == model


def test_another_bare_name_is_left_for_the_registry_to_refuse() -> None:
    ask = parse_anthropic_request({"model": "gpt-4o", "max_tokens": 64, "messages": HI})
    assert ask.chat.model == "gpt-4o"
    with pytest.raises(UnknownModel):
        resolve(ask.chat.model)
