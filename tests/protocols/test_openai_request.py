from __future__ import annotations

from typing import Any

import pytest

from llmrelay.errors import InvalidRequest
from llmrelay.models import Message
from llmrelay.protocols.openai_request import IGNORED_PARAMETERS, parse_openai_request

HELLO = [{"role": "user", "content": "hello"}]


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "echo/echo", "messages": HELLO, **fields}


def refused(data: object) -> str:
    with pytest.raises(InvalidRequest) as caught:
        parse_openai_request(data)
    return caught.value.message


def test_a_minimal_body_is_a_non_streamed_chat() -> None:
    parsed = parse_openai_request(body())
    assert (parsed.stream, parsed.include_usage) == (False, False)
    assert parsed.chat.model == "echo/echo"
    assert parsed.chat.messages == [Message(role="user", content="hello")]
    assert parsed.chat.stream is False


def test_the_honoured_parameters_reach_the_chat_request() -> None:
    parsed = parse_openai_request(
        body(
            stream=True,
            stream_options={"include_usage": True},
            temperature=1,
            max_tokens=50,
            user="person-1",
            context_id="support",
            thread_id="t-9",
        )
    )
    assert (parsed.stream, parsed.include_usage) == (True, True)
    chat = parsed.chat
    assert (chat.temperature, chat.max_tokens, chat.user) == (1.0, 50, "person-1")
    assert (chat.context_id, chat.thread_id, chat.stream) == ("support", "t-9", True)


def test_max_completion_tokens_wins_over_the_deprecated_max_tokens() -> None:
    parsed = parse_openai_request(body(max_tokens=50, max_completion_tokens=20))
    assert parsed.chat.max_tokens == 20


def test_a_missing_model_means_the_default_model() -> None:
    assert parse_openai_request({"messages": HELLO}).chat.model is None


ROLES = [
    pytest.param("system", "system", id="system"),
    pytest.param("developer", "system", id="developer-is-system"),
    pytest.param("assistant", "assistant", id="assistant"),
]


@pytest.mark.parametrize(("role", "expected"), ROLES)
def test_roles_map_onto_llmrelays(role: str, expected: str) -> None:
    messages = [{"role": role, "content": "be brief"}, *HELLO]
    assert parse_openai_request(body(messages=messages)).chat.messages[0].role == expected


def test_text_content_parts_are_joined_and_refusals_skipped() -> None:
    content = [
        {"type": "text", "text": "one"},
        {"type": "refusal", "refusal": "no"},
        {"type": "text", "text": "two"},
    ]
    parsed = parse_openai_request(body(messages=[{"role": "user", "content": content}]))
    assert parsed.chat.messages[0].text == "onetwo"
    assert len(parsed.chat.messages[0].parts) == 2


@pytest.mark.parametrize("name", sorted(IGNORED_PARAMETERS))
def test_tuning_and_bookkeeping_parameters_are_accepted_and_ignored(name: str) -> None:
    assert parse_openai_request(body(**{name: 0.5})).chat.model == "echo/echo"


HARMLESS = [
    pytest.param({"n": 1}, id="n-1"),
    pytest.param({"logprobs": False}, id="logprobs-false"),
    pytest.param({"tool_choice": "none"}, id="tool-choice-none"),
    pytest.param({"tools": []}, id="no-tools"),
    pytest.param({"modalities": ["text"]}, id="text-modality"),
    pytest.param({"response_format": {"type": "text"}}, id="text-format"),
    pytest.param({"stream_options": None, "stream": None}, id="nulls"),
]


@pytest.mark.parametrize("fields", HARMLESS)
def test_parameters_that_ask_for_nothing_extra_are_accepted(fields: dict[str, Any]) -> None:
    parse_openai_request(body(**fields))


REFUSED = [
    pytest.param([], "body: must be a JSON object", id="not-an-object"),
    pytest.param(body(n=2), "n: not supported", id="n-2"),
    pytest.param(body(tools=[{"type": "custom"}]), "tools.0.type: only 'function'", id="tools"),
    pytest.param(body(logprobs=True), "logprobs: not supported", id="logprobs"),
    pytest.param(
        body(response_format={"type": "json_schema"}), "response_format.json_schema", id="json-mode"
    ),
    pytest.param(body(temprature=0.2), "temprature: unrecognized", id="typo"),
    pytest.param(body(stream="yes"), "stream: must be true or false", id="stream-not-bool"),
    pytest.param(body(stream_options=[]), "stream_options: must be an object", id="options"),
    pytest.param(
        body(stream_options={"include_usage": "y"}),
        "stream_options.include_usage: must be",
        id="include-usage-not-bool",
    ),
    pytest.param(
        body(messages=[{"role": "tool", "content": "x"}]), "messages.0: tool_call_id", id="tool"
    ),
    pytest.param(
        body(messages=[{"role": "user", "content": [{"type": "input_audio"}]}]),
        "messages.0.content.0.type: parts of type 'input_audio' are not supported",
        id="image-part",
    ),
    pytest.param(body(messages=[]), "messages", id="no-messages"),
    pytest.param(body(messages=["hi"]), "messages.0", id="message-not-object"),
    pytest.param(body(temperature=3), "temperature", id="temperature-range"),
    pytest.param(
        body(max_completion_tokens=0), "max_completion_tokens:", id="max-completion-tokens"
    ),
    pytest.param(body(max_tokens=0), "max_tokens:", id="max-tokens"),
]


@pytest.mark.parametrize(("data", "expected"), REFUSED)
def test_bad_or_unsupported_bodies_are_refused_naming_the_parameter(
    data: object, expected: str
) -> None:
    assert expected in refused(data)


def test_tools_choice_format_and_sampling_reach_the_neutral_request() -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string"}}}
    parsed = parse_openai_request(
        body(
            tools=[{"type": "function", "function": {"name": "search", "parameters": schema}}],
            tool_choice={"type": "function", "function": {"name": "search"}},
            response_format={"type": "json_schema", "json_schema": {"name": "r", "schema": schema}},
            stop="END",
            top_p=0.9,
            seed=1,
            reasoning_effort="high",
            parallel_tool_calls=True,
        )
    )
    chat = parsed.chat
    assert chat.tools is not None
    assert chat.tools[0].name == "search"
    assert chat.tool_choice is not None
    assert (chat.stop, chat.top_p, chat.seed, chat.reasoning_effort) == (["END"], 0.9, 1, "high")
    assert chat.response_format is not None
    assert chat.response_format.json_schema == schema


def test_a_tool_loop_reads_back_as_calls_and_results() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}
    parsed = parse_openai_request(
        body(
            messages=[
                {"role": "user", "content": "go"},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "c1", "content": "done"},
            ]
        )
    )
    assistant, tool = parsed.chat.messages[1:]
    assert [(c.id, c.name, c.arguments) for c in assistant.tool_calls] == [("c1", "f", '{"a":1}')]
    assert (tool.role, tool.tool_call_id, tool.text) == ("tool", "c1", "done")


def user(*parts: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return body(messages=[{"role": "user", "content": list(parts), **fields}])


PIXEL_URL = "https://example.com/a.png"
TYPOS = [
    pytest.param(
        body(messages=[{"role": "user", "content": "hi", "nmae": "ana"}]),
        "messages.0.nmae: unknown field",
        id="message-field",
    ),
    pytest.param(
        user({"type": "text", "text": "hi", "txet": "x"}),
        "messages.0.content.0.txet: unknown field",
        id="text-part-field",
    ),
    pytest.param(
        user({"type": "image_url", "image_url": {"url": PIXEL_URL, "detial": "high"}}),
        "messages.0.content.0.image_url.detial: unknown field",
        id="image-url-field",
    ),
    pytest.param(
        user({"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE", "x": 1}}),
        "messages.0.content.0.file.x: unknown field",
        id="file-field",
    ),
    pytest.param(
        body(
            messages=[
                *HELLO,
                {"role": "assistant", "content": "", "function_call": {"name": "f"}},
            ]
        ),
        "messages.1.function_call: not supported",
        id="legacy-function-call",
    ),
    pytest.param(
        body(messages=[*HELLO, {"role": "assistant", "content": "", "audio": {"id": "a1"}}]),
        "messages.1.audio: not supported",
        id="audio-reference",
    ),
]


@pytest.mark.parametrize(("data", "expected"), TYPOS)
def test_a_field_of_a_message_or_part_that_would_be_dropped_is_refused(
    data: object, expected: str
) -> None:
    """Nothing the client sent is dropped silently: a typo or an unsupported field inside a
    message is a 400 naming it, as at the top level."""
    assert expected in refused(data)


def test_fields_a_message_round_trip_carries_are_accepted_and_ignored() -> None:
    """What the SDK's own ``message.model_dump()`` sends back (and ``name``, ``detail``,
    ``cache_control``, which change no answer llmrelay gives), as documented."""
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    assistant = {
        "role": "assistant",
        "content": "ok",
        "refusal": None,
        "annotations": [],
        "audio": None,
        "function_call": None,
        "tool_calls": [call],
        "reasoning_content": "thought",
        "name": "bot",
    }
    image = {"type": "image_url", "image_url": {"url": PIXEL_URL, "detail": "low"}}
    text_part = {"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}
    messages = [
        {"role": "user", "content": [text_part, image], "name": "ana"},
        assistant,
        {"role": "tool", "tool_call_id": "c1", "content": "done", "name": "f"},
    ]
    parsed = parse_openai_request(body(messages=messages))
    assert [m.role for m in parsed.chat.messages] == ["user", "assistant", "tool"]
