"""Reading a Responses request body into the neutral request: items, parts, the assistant
turns they make, and every refusal naming its field."""

from __future__ import annotations

from typing import Any

import pytest

from llmrelay.errors import InvalidRequest, LLMRelayError, UnknownModel, UnsupportedParameter
from llmrelay.events import ReasoningBlock
from llmrelay.parts import FilePart, ImagePart, ReasoningPart, TextPart, ToolCallPart
from llmrelay.protocols.responses_items import encrypted_content
from llmrelay.protocols.responses_request import param_of, parse_responses_request

PNG = "iVBORw0KGgo="
PDF = "JVBERi0="


def parse(**fields: Any) -> Any:
    return parse_responses_request({"model": "echo/echo", "input": "hi", **fields})


def test_a_string_input_is_one_user_message_after_the_instructions() -> None:
    ask = parse(instructions="Be brief.", input="Hello")
    assert [(m.role, m.content) for m in ask.chat.messages] == [
        ("system", "Be brief."),
        ("user", "Hello"),
    ]
    assert ask.stream is False
    assert ask.echo["instructions"] == "Be brief."


def test_parts_become_text_image_and_file_parts() -> None:
    content = [
        {"type": "input_text", "text": "What is this?"},
        {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}", "detail": "low"},
        {"type": "input_image", "image_url": "https://example.test/cat.jpg", "detail": "auto"},
        {"type": "input_file", "file_data": f"data:application/pdf;base64,{PDF}", "filename": "a"},
    ]
    [message] = parse(input=[{"role": "user", "content": content}]).chat.messages
    assert message.parts == [
        TextPart(type="text", text="What is this?"),
        ImagePart(type="image", data=PNG, media_type="image/png"),
        ImagePart(type="image", url="https://example.test/cat.jpg"),
        FilePart(type="file", data=PDF, media_type="application/pdf", filename="a"),
    ]


def test_reasoning_message_and_calls_make_one_assistant_turn_then_the_results() -> None:
    opaque = encrypted_content(ReasoningBlock("", "sig-1", "REDACTED=="))
    items = [
        {"type": "message", "role": "developer", "content": "Rules."},
        {"role": "user", "content": "Weather in two cities?"},
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": opaque},
        {
            "type": "reasoning",
            "id": "rs_2",
            "summary": [{"type": "summary_text", "text": "ignored when content is given"}],
            "content": [{"type": "reasoning_text", "text": "Two calls."}],
            "encrypted_content": "sig-2",
            "status": "completed",
        },
        {
            "type": "message",
            "role": "assistant",
            "id": "msg_1",
            "status": "completed",
            "content": [
                {"type": "output_text", "text": "Checking.", "annotations": [], "logprobs": []},
                {"type": "refusal", "refusal": "Not that."},
            ],
        },
        {"type": "function_call", "call_id": "c1", "name": "weather", "arguments": '{"c":1}'},
        {"type": "function_call", "call_id": "c2", "name": "weather", "caller": {"type": "direct"}},
        {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        {
            "type": "function_call_output",
            "call_id": "c2",
            "output": [{"type": "input_text", "text": "rain"}],
        },
        {"role": "assistant", "content": "Sunny and rain."},
        {"role": "user", "content": "Thanks"},
    ]
    messages = parse(input=items).chat.messages
    assert [m.role for m in messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "tool",
        "assistant",
        "user",
    ]
    assert messages[2].parts == [
        ReasoningPart(type="reasoning", text="", signature="sig-1", redacted="REDACTED=="),
        ReasoningPart(type="reasoning", text="Two calls.", signature="sig-2"),
        TextPart(type="text", text="Checking."),
        TextPart(type="text", text="Not that."),
        ToolCallPart(type="tool_call", id="c1", name="weather", arguments='{"c":1}'),
        ToolCallPart(type="tool_call", id="c2", name="weather", arguments="{}"),
    ]
    assert (messages[3].tool_call_id, messages[3].text) == ("c1", "sunny")
    assert (messages[4].tool_call_id, messages[4].text) == ("c2", "rain")
    assert messages[5].parts == [TextPart(type="text", text="Sunny and rain.")]


def test_summary_parts_are_the_reasoning_text_when_there_is_no_content() -> None:
    summary = [{"type": "summary_text", "text": "One."}, {"type": "summary_text", "text": "Two."}]
    items = [
        {"role": "user", "content": "hi"},
        {"type": "reasoning", "id": "rs_1", "summary": summary, "encrypted_content": None},
        {"role": "user", "content": "again"},
    ]
    [_, assistant, _] = parse(input=items).chat.messages
    assert assistant.parts == [ReasoningPart(type="reasoning", text="One.\n\nTwo.")]


def test_the_settings_reach_the_neutral_request_and_the_echo() -> None:
    tool = {
        "type": "function",
        "name": "weather",
        "description": "d",
        "parameters": None,
        "strict": True,
        "defer_loading": False,
    }
    schema = {"type": "object", "properties": {}}
    ask = parse(
        stream=True,
        tools=[tool],
        tool_choice={"type": "function", "name": "weather"},
        parallel_tool_calls=False,
        text={
            "format": {"type": "json_schema", "name": "out", "schema": schema},
            "verbosity": "low",
        },
        reasoning={"effort": "high", "summary": "auto"},
        temperature=1,
        top_p=0.5,
        max_output_tokens=50,
        user="u1",
        metadata={"k": "v"},
        store=False,
        include=["reasoning.encrypted_content"],
        truncation="disabled",
        context_id=None,
        service_tier="auto",
        stream_options={"include_obfuscation": False},
    )
    chat = ask.chat
    assert ask.stream is True
    assert chat.tools is not None
    assert [(t.name, t.description, t.strict) for t in chat.tools] == [("weather", "d", True)]
    assert getattr(chat.tool_choice, "name", None) == "weather"
    assert chat.parallel_tool_calls is False
    assert chat.response_format is not None
    assert (chat.response_format.type, chat.response_format.name) == ("json_schema", "out")
    assert chat.reasoning_effort == "high"
    assert (chat.temperature, chat.top_p, chat.max_tokens, chat.user) == (1.0, 0.5, 50, "u1")
    assert ask.echo["metadata"] == {"k": "v"}
    assert ask.echo["parallel_tool_calls"] is False
    assert ask.echo["reasoning"] == {"effort": "high", "summary": "auto"}
    assert ask.echo["tools"] == [tool]


REFUSED = [
    pytest.param([], "body: must be a JSON object", id="not-an-object"),
    pytest.param({"input": []}, "input: required", id="no-input"),
    pytest.param({"input": 3}, "input: required", id="input-a-number"),
    pytest.param({"instructions": ["x"]}, "instructions: must be a string", id="instructions"),
    pytest.param({"input": ["x"]}, "input.0: must be an object", id="item-not-object"),
    pytest.param({"input": [{"role": "tool", "content": "x"}]}, "input.0.role", id="role"),
    pytest.param({"input": [{"type": "web_search_call"}]}, "input.0.type", id="item-type"),
    pytest.param(
        {"input": [{"role": "user", "content": "x", "extra": 1}]}, "input.0.extra", id="field"
    ),
    pytest.param(
        {"input": [{"role": "user", "content": [{"type": "input_audio"}]}]},
        "input.0.content.0.type",
        id="part-type",
    ),
    pytest.param(
        {"input": [{"role": "user", "content": [{"type": "input_file", "file_url": "u"}]}]},
        "input.0.content.0.file_url",
        id="file-url",
    ),
    pytest.param(
        {"input": [{"role": "user", "content": [{"type": "input_file", "filename": "a"}]}]},
        "input.0.content.0.file_data",
        id="file-data",
    ),
    pytest.param(
        {"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "ftp://x"}]}]},
        "input.0.content.0",
        id="image-url",
    ),
    pytest.param(
        {
            "input": [
                {"role": "system", "content": [{"type": "input_image", "image_url": "https://x"}]}
            ]
        },
        "input.0: content: a system message cannot hold image parts",
        id="image-in-system",
    ),
    pytest.param(
        {"input": ["hi", {"type": "reasoning", "summary": "x"}]}, "input.0", id="summary-type"
    ),
    pytest.param(
        {"input": [{"role": "user", "content": "x"}, {"type": "reasoning", "summary": "x"}]},
        "input.1.summary",
        id="summary-not-list",
    ),
    pytest.param(
        {"input": [{"role": "user", "content": "x"}, {"type": "reasoning", "summary": [{}]}]},
        "input.1.summary",
        id="summary-without-text",
    ),
    pytest.param(
        {
            "input": [
                {"role": "user", "content": "x"},
                {"type": "reasoning", "summary": [], "encrypted_content": "llmrelay.v1.@@"},
            ]
        },
        "input.1.encrypted_content",
        id="broken-envelope",
    ),
    pytest.param(
        {
            "input": [
                {"role": "user", "content": "x"},
                {"type": "reasoning", "summary": [], "encrypted_content": 5},
            ]
        },
        "input.1.encrypted_content",
        id="opaque-not-a-string",
    ),
    pytest.param(
        {
            "input": [
                {"role": "user", "content": "x"},
                {"type": "function_call", "call_id": "c", "name": "f", "arguments": "[1]"},
            ]
        },
        "input.1",
        id="arguments-not-an-object",
    ),
    pytest.param(
        {
            "input": [
                {
                    "type": "function_call",
                    "call_id": "c",
                    "name": "f",
                    "caller": {"type": "program"},
                }
            ]
        },
        "input.0.caller",
        id="program-caller",
    ),
    pytest.param(
        {"tools": [{"type": "function", "name": "f", "defer_loading": True}]},
        "tools.0.defer_loading",
        id="defer",
    ),
    pytest.param({"tool_choice": {"type": "web_search"}}, "tool_choice.type", id="hosted-choice"),
    pytest.param({"text": "json"}, "text: must be an object", id="text-not-object"),
    pytest.param({"text": {"style": 1}}, "text.style", id="text-field"),
    pytest.param(
        {
            "text": {
                "format": {"type": "json_schema", "name": "o", "description": "d", "schema": {}}
            }
        },
        "text.format.description",
        id="format-description",
    ),
    pytest.param({"stream": "yes"}, "stream: must be true or false", id="stream-flag"),
    pytest.param({"top_logprobs": 3}, "top_logprobs", id="logprobs"),
    pytest.param({"conversation": "conv_1"}, "conversation", id="conversation"),
    pytest.param({"prompt": {"id": "p"}}, "prompt", id="prompt"),
    pytest.param({"include": "all"}, "include", id="include-not-list"),
    pytest.param({"max_output_tokens": 10**9}, "max_output_tokens", id="ceiling"),
    pytest.param({"reasoning": {"effort": "max"}}, "reasoning.effort", id="effort"),
]


@pytest.mark.parametrize(("fields", "starts"), REFUSED)
def test_refusals_name_the_field(fields: Any, starts: str) -> None:
    body = fields if isinstance(fields, list) else {"model": "echo/echo", "input": "hi", **fields}
    with pytest.raises(InvalidRequest) as caught:
        parse_responses_request(body)
    assert caught.value.message.startswith(starts), caught.value.message
    assert caught.value.status == 400


PARAMS = [
    pytest.param(UnsupportedParameter("x", param="response_format"), "text.format", id="format"),
    pytest.param(UnsupportedParameter("x", param="reasoning_effort"), "reasoning.effort", id="e"),
    pytest.param(UnsupportedParameter("x", param="max_tokens"), "max_output_tokens", id="max"),
    pytest.param(UnsupportedParameter("x", param="messages"), "input", id="messages"),
    pytest.param(UnsupportedParameter("x", param="tools.1.name"), "tools.1.name", id="nested"),
    pytest.param(InvalidRequest("input.2.content.0: bad"), "input.2.content.0", id="message"),
    pytest.param(InvalidRequest("body: must be a JSON object"), None, id="body"),
    pytest.param(InvalidRequest("no field named here"), None, id="unnamed"),
    pytest.param(UnknownModel("nope"), "model", id="model"),
    pytest.param(LLMRelayError("boom"), None, id="other"),
]


@pytest.mark.parametrize(("error", "param"), PARAMS)
def test_the_param_of_an_error_is_the_field_in_this_dialects_names(
    error: LLMRelayError, param: str | None
) -> None:
    assert param_of(error) == param
