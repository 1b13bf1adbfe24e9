from __future__ import annotations

from typing import Any

import pytest

from llmrelay.errors import InvalidRequest
from llmrelay.models import Message
from llmrelay.protocols.vercel_request import parse_ui_chat_request


def ui_message(role: str, *parts: dict[str, Any], id: str = "m1") -> dict[str, Any]:
    return {"id": id, "role": role, "parts": list(parts)}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def use_chat_body(*messages: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """What DefaultChatTransport sends: the page's ``body`` merged with these fields."""
    return {
        **extra,
        "id": "chat-1",
        "messages": list(messages) or [ui_message("user", text("hello"))],
        "trigger": "submit-message",
        "messageId": None,
    }


def test_a_use_chat_body_becomes_a_chat_request_threaded_by_the_chat_id() -> None:
    chat = parse_ui_chat_request(use_chat_body())
    assert chat.messages == [Message(role="user", content="hello")]
    assert chat.thread_id == "chat-1"
    assert chat.model is None


def test_the_pages_extra_body_sets_model_and_sampling() -> None:
    chat = parse_ui_chat_request(
        use_chat_body(model="echo/echo", temperature=0.5, max_tokens=9, user="u", appField=1)
    )
    assert (chat.model, chat.temperature, chat.max_tokens, chat.user) == ("echo/echo", 0.5, 9, "u")


def test_a_conversation_keeps_its_turns_and_joins_text_parts() -> None:
    chat = parse_ui_chat_request(
        use_chat_body(
            ui_message("system", text("be brief"), id="s"),
            ui_message("user", text("hi"), id="u1"),
            ui_message("assistant", {"type": "step-start"}, text("Hello"), text("there"), id="a1"),
            ui_message("user", text("again"), id="u2"),
        )
    )
    assert [(m.role, m.content) for m in chat.messages] == [
        ("system", "be brief"),
        ("user", "hi"),
        ("assistant", "Hello\nthere"),
        ("user", "again"),
    ]


def test_parts_that_are_not_model_input_are_skipped_and_empty_turns_dropped() -> None:
    skipped: list[dict[str, Any]] = [
        {"type": "step-start"},
        {"type": "source-url", "sourceId": "s", "url": "https://example.com"},
        {"type": "data-weather", "data": {}},
        {"type": "tool-search", "toolCallId": "t", "state": "input-streaming"},
        {"type": "file", "mediaType": "image/png", "url": "https://example.com/made.png"},
    ]
    chat = parse_ui_chat_request(
        use_chat_body(
            ui_message("user", text("hi"), id="u1"),
            ui_message("assistant", *skipped, id="a1"),
            ui_message("user", text("again"), id="u2"),
        )
    )
    assert [m.content for m in chat.messages] == ["hi", "again"]


def test_a_chat_id_too_long_for_a_thread_id_is_not_passed_on() -> None:
    body = {**use_chat_body(), "id": "x" * 300}
    assert parse_ui_chat_request(body).thread_id is None


REFUSED = [
    pytest.param("hello", "body: must be a JSON object", id="not-an-object"),
    pytest.param({"id": "c"}, "messages: must be a list", id="no-messages"),
    pytest.param({"messages": ["hi"]}, "messages.0: must be an object", id="message-not-object"),
    pytest.param(
        {"messages": [{"role": "user", "content": "hi"}]},
        "messages.0.parts: must be a list",
        id="v4-content-message",
    ),
    pytest.param(
        use_chat_body(ui_message("user", {"type": "text", "text": 3})),
        "messages.0.parts.0.text: must be a string",
        id="text-not-string",
    ),
    pytest.param(
        use_chat_body(
            ui_message("user", text("look"), {"type": "file", "mediaType": "image/png", "url": ""})
        ),
        "messages.0.content.1.image.url: String should have at least 1 character",
        id="file-without-url",
    ),
    pytest.param(
        use_chat_body(
            ui_message(
                "user", {"type": "file", "mediaType": "application/pdf", "url": "https://x/a.pdf"}
            )
        ),
        "messages.0.parts.0.url: a application/pdf file must be a base64 data: URL",
        id="document-by-url",
    ),
    pytest.param(
        use_chat_body(ui_message("user", {"type": "reasoning", "text": "mine"})),
        "messages.0.parts.0: a user message cannot hold reasoning parts",
        id="user-reasoning",
    ),
    pytest.param(
        use_chat_body(
            ui_message("user", text("hi")),
            ui_message(
                "assistant",
                {"type": "tool-w", "toolCallId": "c1", "state": "input-available", "input": [1]},
            ),
        ),
        "messages.1.parts.0.input: must be a JSON object",
        id="tool-input-not-object",
    ),
    pytest.param(use_chat_body(ui_message("tool", text("x"))), "messages.0.role", id="bad-role"),
    pytest.param(
        use_chat_body(ui_message("assistant", text("only me"))),
        "at least one user message",
        id="no-user-turn",
    ),
    pytest.param(use_chat_body(temperature="hot"), "temperature", id="bad-temperature"),
]


@pytest.mark.parametrize(("data", "expected"), REFUSED)
def test_bad_bodies_are_refused_naming_the_field(data: object, expected: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_ui_chat_request(data)
    assert expected in caught.value.message


PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
    "AAAABJRU5ErkJggg=="
)


def test_file_parts_become_image_and_document_parts() -> None:
    pdf = "data:application/pdf;base64,JVBERi0xLjQK"
    chat = parse_ui_chat_request(
        use_chat_body(
            ui_message(
                "user",
                text("compare"),
                {"type": "file", "mediaType": "image/png", "url": f"data:image/png;base64,{PNG}"},
                {"type": "file", "mediaType": "image/jpeg", "url": "https://example.com/a.jpg"},
                {"type": "file", "mediaType": "application/pdf", "url": pdf, "filename": "a.pdf"},
            )
        )
    )
    parts = [part.model_dump(exclude_none=True) for part in chat.messages[0].parts]
    assert parts == [
        {"type": "text", "text": "compare"},
        {"type": "image", "data": PNG, "media_type": "image/png"},
        {"type": "image", "url": "https://example.com/a.jpg"},
        {
            "type": "file",
            "data": "JVBERi0xLjQK",
            "media_type": "application/pdf",
            "filename": "a.pdf",
        },
    ]


def test_tool_calls_and_their_results_become_calls_and_tool_messages_in_order() -> None:
    """One assistant UI message of two steps: reasoning, text and two calls whose results the
    page added, then the text of the step after them."""
    metadata = {"llmrelay": {"signature": "c2lnbmVk"}}
    assistant = ui_message(
        "assistant",
        {"type": "step-start"},
        {"type": "reasoning", "text": "Two lookups.", "providerMetadata": metadata},
        text("Checking."),
        {
            "type": "tool-weather",
            "toolCallId": "call_1",
            "state": "output-available",
            "input": {"city": "Oslo"},
            "output": {"c": 3},
        },
        {
            "type": "dynamic-tool",
            "toolName": "clock",
            "toolCallId": "call_2",
            "state": "output-error",
            "input": {},
            "errorText": "clock broke",
        },
        {"type": "step-start"},
        text("3 °C; no clock."),
        id="a1",
    )
    chat = parse_ui_chat_request(
        use_chat_body(ui_message("user", text("weather and time?")), assistant)
    )
    turns = [m.model_dump(exclude_none=True) for m in chat.messages]
    assert turns == [
        {"role": "user", "content": "weather and time?"},
        {
            "role": "assistant",
            "content": [
                {"type": "reasoning", "text": "Two lookups.", "signature": "c2lnbmVk"},
                {"type": "text", "text": "Checking."},
                {
                    "type": "tool_call",
                    "id": "call_1",
                    "name": "weather",
                    "arguments": '{"city": "Oslo"}',
                },
                {"type": "tool_call", "id": "call_2", "name": "clock", "arguments": "{}"},
            ],
        },
        {"role": "tool", "content": '{"c": 3}', "tool_call_id": "call_1"},
        {"role": "tool", "content": "clock broke", "tool_call_id": "call_2"},
        {"role": "assistant", "content": "3 °C; no clock."},
    ]


def tool_part(call_id: str, city: str) -> dict[str, Any]:
    return {
        "type": "tool-weather",
        "toolCallId": call_id,
        "state": "output-available",
        "input": {"city": city},
        "output": "sunny",
    }


def test_steps_of_tool_calls_alone_stay_steps_not_one_parallel_turn() -> None:
    """Two calls made one after the other (each its own step, with no text between) are two
    assistant turns, each answered before the next, as the provider saw them."""
    assistant = ui_message(
        "assistant",
        {"type": "step-start"},
        tool_part("call_1", "Oslo"),
        {"type": "step-start"},
        tool_part("call_2", "Bergen"),
        {"type": "step-start"},
        text("Sunny in both."),
        id="a1",
    )
    chat = parse_ui_chat_request(
        use_chat_body(ui_message("user", text("Oslo, then Bergen")), assistant)
    )
    turns = [(m.role, m.tool_call_id or [p.type for p in m.parts]) for m in chat.messages]
    assert turns == [
        ("user", ["text"]),
        ("assistant", ["tool_call"]),
        ("tool", "call_1"),
        ("assistant", ["tool_call"]),
        ("tool", "call_2"),
        ("assistant", ["text"]),
    ]


def test_the_body_may_carry_tools_and_the_fields_beyond_text() -> None:
    tools = [{"name": "weather", "parameters": {"type": "object"}}]
    chat = parse_ui_chat_request(
        use_chat_body(tools=tools, tool_choice="required", reasoning_effort="low", seed=7)
    )
    assert chat.tools is not None
    assert [tool.name for tool in chat.tools] == ["weather"]
    assert (chat.tool_choice, chat.reasoning_effort, chat.seed) == ("required", "low", 7)
