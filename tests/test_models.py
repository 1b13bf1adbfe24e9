from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from llmrelay.config import get_settings
from llmrelay.errors import ConfigurationError, InvalidRequest
from llmrelay.models import ChatRequest, Message

USER = {"role": "user", "content": "Hi"}


def body(**fields: Any) -> dict[str, Any]:
    return {"messages": [USER], **fields}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Set ``LLMRELAY_*`` variables; the settings are reread on the next request."""
    get_settings.cache_clear()
    return monkeypatch


def rejected(data: object) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        ChatRequest.parse(data)
    return caught.value


BAD = [
    pytest.param({}, "messages", id="messages-missing"),
    pytest.param({"messages": []}, "messages", id="messages-empty"),
    pytest.param({"messages": "Hi"}, "messages", id="messages-not-a-list"),
    pytest.param({"messages": [USER, "Hi"]}, "messages.1", id="message-not-an-object"),
    pytest.param(
        {"messages": [{"role": "assistant", "content": "Hi"}]}, "messages", id="no-user-message"
    ),
    pytest.param({"messages": [{"role": "bot", "content": "x"}]}, "messages.0.role", id="bad-role"),
    pytest.param({"messages": [{"content": "x"}]}, "messages.0.role", id="role-missing"),
    pytest.param({"messages": [{"role": "user"}]}, "messages.0.content", id="content-missing"),
    pytest.param(
        {"messages": [{"role": "user", "content": ""}]}, "messages.0.content", id="content-empty"
    ),
    pytest.param(
        {"messages": [{"role": "user", "content": 42}]}, "messages.0.content", id="content-number"
    ),
    pytest.param(
        {"messages": [{"role": "user", "content": ["Hi"]}]},
        "messages.0.content",
        id="content-list",
    ),
    pytest.param(body(temperature=True), "temperature", id="temperature-bool"),
    pytest.param(body(temperature="0.5"), "temperature", id="temperature-string"),
    pytest.param(body(temperature=2.5), "temperature", id="temperature-above-2"),
    pytest.param(body(temperature=-0.1), "temperature", id="temperature-negative"),
    pytest.param(body(temperature=float("nan")), "temperature", id="temperature-nan"),
    pytest.param(body(max_tokens=True), "max_tokens", id="max-tokens-bool"),
    pytest.param(body(max_tokens=0), "max_tokens", id="max-tokens-zero"),
    pytest.param(body(max_tokens=1.5), "max_tokens", id="max-tokens-fraction"),
    pytest.param(body(max_tokens="10"), "max_tokens", id="max-tokens-string"),
    pytest.param(body(max_tokens=4097), "max_tokens", id="max-tokens-over-ceiling"),
    pytest.param(body(stream="true"), "stream", id="stream-string"),
    pytest.param(body(stream=1), "stream", id="stream-number"),
    pytest.param(body(model=7), "model", id="model-number"),
    pytest.param(body(model="ab"), "model", id="model-too-short"),
    pytest.param(body(model="x/" + "m" * 255), "model", id="model-too-long"),
    pytest.param(body(context_id=""), "context_id", id="context-id-empty"),
    pytest.param(body(context_id="c" * 129), "context_id", id="context-id-too-long"),
    pytest.param(body(thread_id=""), "thread_id", id="thread-id-empty"),
    pytest.param(body(user=5), "user", id="user-number"),
    pytest.param(body(functions=[]), "functions", id="unknown-field"),
    pytest.param(
        {"messages": [{**USER, "name": "bob"}]}, "messages.0.name", id="unknown-message-field"
    ),
    pytest.param([USER], "body", id="body-a-list"),
    pytest.param("Hi", "body", id="body-a-string"),
    pytest.param(None, "body", id="body-null"),
]


@pytest.mark.parametrize(("data", "field"), BAD)
def test_bad_input_is_an_invalid_request_naming_the_field(data: object, field: str) -> None:
    error = rejected(data)
    assert error.status == 400
    assert error.code == "invalid_request"
    assert f"{field}: " in error.message


def test_unknown_fields_are_called_unknown() -> None:
    assert rejected(body(functions=[])).message == "functions: unknown field"


def test_every_problem_is_reported_not_only_the_first() -> None:
    message = rejected({"messages": [], "temperature": 9, "stream": "no"}).message
    assert {"messages: ", "temperature: ", "stream: "} <= {
        part.split(": ")[0] + ": " for part in message.split("; ")
    }


def test_the_rejected_input_is_never_quoted_back() -> None:
    marker = "sk-proj-SECRETMARKER123456"
    error = rejected({"messages": [{"role": "robot", "content": marker}], "user": 1})
    assert "SECRETMARKER" not in error.message


def test_a_valid_request_keeps_every_field() -> None:
    request = ChatRequest.parse(
        {
            "model": "openai/gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "How are you?"},
            ],
            "temperature": 0.7,
            "max_tokens": 100,
            "context_id": "work",
            "thread_id": "t-1",
            "user": "u-1",
            "stream": False,
        }
    )
    assert request.model == "openai/gpt-4o-mini"
    assert [m.role for m in request.messages] == ["system", "user", "assistant", "user"]
    assert (request.temperature, request.max_tokens) == (0.7, 100)
    assert (request.context_id, request.thread_id, request.user) == ("work", "t-1", "u-1")
    assert request.stream is False


def test_stream_defaults_to_true_and_options_to_none() -> None:
    request = ChatRequest.parse(body())
    assert request.stream is True
    assert request.model is None
    assert (request.temperature, request.max_tokens, request.context_id) == (None, None, None)


def test_a_whole_number_temperature_is_accepted_as_a_float() -> None:
    # JSON has one number type: 1 and 1.0 are the same value to a client.
    request = ChatRequest.parse(body(temperature=1))
    assert request.temperature == 1.0
    assert isinstance(request.temperature, float)


def test_the_library_constructor_accepts_plain_dicts() -> None:
    request = ChatRequest(model="echo/echo", messages=[{"role": "user", "content": "Hi"}])  # type: ignore[list-item]
    assert request.messages == [Message(role="user", content="Hi")]


def test_the_constructor_rejects_with_pydantic_errors() -> None:
    with pytest.raises(ValidationError):
        ChatRequest(messages=[])


def test_requests_and_messages_are_immutable() -> None:
    request = ChatRequest.parse(body())
    with pytest.raises(ValidationError):
        request.model = "openai/gpt-4o"
    with pytest.raises(ValidationError):
        request.messages[0].content = "changed"


def test_content_of_exactly_the_default_limit_passes_and_one_more_fails() -> None:
    ChatRequest.parse({"messages": [{"role": "user", "content": "x" * 10_000}]})
    error = rejected({"messages": [{"role": "user", "content": "x" * 10_001}]})
    assert error.message == "messages.0.content: must be at most 10000 characters (got 10001)"


def test_content_length_counts_characters_not_bytes() -> None:
    ChatRequest.parse({"messages": [{"role": "user", "content": "é" * 10_000}]})


def test_message_count_defaults_to_a_hundred() -> None:
    ChatRequest.parse({"messages": [USER] * 100})
    assert rejected({"messages": [USER] * 101}).message == (
        "messages: must hold at most 100 messages (got 101)"
    )


LIMITS = [
    pytest.param(
        "LLMRELAY_MAX_CONTENT_CHARS",
        "5",
        {"messages": [{"role": "user", "content": "12345"}]},
        {"messages": [{"role": "user", "content": "123456"}]},
        "messages.0.content",
        id="content-chars",
    ),
    pytest.param(
        "LLMRELAY_MAX_MESSAGES",
        "2",
        {"messages": [USER, USER]},
        {"messages": [USER, USER, USER]},
        "messages",
        id="message-count",
    ),
    pytest.param(
        "LLMRELAY_MAX_TOKENS_CEILING",
        "50",
        body(max_tokens=50),
        body(max_tokens=51),
        "max_tokens",
        id="max-tokens-ceiling",
    ),
    pytest.param(
        "LLMRELAY_MAX_TOKENS_CEILING",
        "100000",
        body(max_tokens=100_000),
        body(max_tokens=100_001),
        "max_tokens",
        id="max-tokens-ceiling-raised",
    ),
]


@pytest.mark.parametrize(("variable", "value", "at_limit", "over_limit", "field"), LIMITS)
def test_limits_come_from_the_environment(
    env: pytest.MonkeyPatch,
    variable: str,
    value: str,
    at_limit: dict[str, Any],
    over_limit: dict[str, Any],
    field: str,
) -> None:
    env.setenv(variable, value)
    ChatRequest.parse(at_limit)
    error = rejected(over_limit)
    assert error.message.startswith(f"{field}: must ")
    assert value in error.message


def test_a_broken_limit_setting_is_a_server_error_not_the_clients(env: pytest.MonkeyPatch) -> None:
    env.setenv("LLMRELAY_MAX_CONTENT_CHARS", "lots")
    with pytest.raises(ConfigurationError, match="LLMRELAY_MAX_CONTENT_CHARS"):
        ChatRequest.parse(body())


def test_openais_nested_json_schema_is_read_not_taken_for_the_schema() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "required": ["a"],
    }
    inner: dict[str, Any] = {"name": "A", "schema": schema, "strict": True}
    nested: dict[str, Any] = {"type": "json_schema", "json_schema": inner}
    flat: dict[str, Any] = {"type": "json_schema", **inner}
    formats: list[dict[str, Any]] = [nested, flat]
    for response_format in formats:
        chat = ChatRequest.parse(
            {"messages": [{"role": "user", "content": "hi"}], "response_format": response_format}
        )
        assert chat.response_format is not None
        assert (chat.response_format.name, chat.response_format.json_schema) == ("A", schema)
    both: dict[str, Any] = {**nested, "schema": schema}
    with pytest.raises(InvalidRequest, match="response_format"):
        ChatRequest.parse(
            {"messages": [{"role": "user", "content": "hi"}], "response_format": both}
        )
