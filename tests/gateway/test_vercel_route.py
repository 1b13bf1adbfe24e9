from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.gateway.app_client import call
from tests.gateway.fakes import Context, Pause, Script, Step
from tests.protocols.sse_reader import read_sse

from llmrelay.errors import MissingKey, RateLimited, UpstreamUnavailable
from llmrelay.events import Failure, Finish, TextDelta, Usage
from llmrelay.gateway import GatewayOptions, build_app
from llmrelay.gateway.auth import HASHES_KEY, hash_key
from llmrelay.http import App
from llmrelay.models import ChatRequest
from llmrelay.secrets import StaticSecrets
from llmrelay.sse import PING

PATH = "/api/chat"


def use_chat_body(text: str = "hello streaming world", **extra: Any) -> dict[str, Any]:
    """The body the ``ai`` package's DefaultChatTransport sends for ``sendMessage``."""
    message = {"id": "msg-1", "role": "user", "parts": [{"type": "text", "text": text}]}
    return {**extra, "id": "chat-1", "messages": [message], "trigger": "submit-message"}


def parts_of(body: bytes) -> list[dict[str, Any]]:
    data = [event.data for event in read_sse(body)]
    assert data[-1] == "[DONE]"
    return [json.loads(item) for item in data[:-1]]


def scripted_app(*steps: Step, **options: Any) -> tuple[App, Script]:
    script = Script(steps)
    app = build_app(stream=lambda chat: script.stream(), options=GatewayOptions(**options))
    return app, script


async def test_an_echo_answer_streams_as_ui_message_parts_with_the_protocol_header() -> None:
    response, body = await call(
        build_app(), "POST", PATH, use_chat_body(), context=Context(aws_request_id="r-7")
    )
    assert response.status == 200
    assert response.headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["x-accel-buffering"] == "no"
    parts = parts_of(body)
    assert parts[0] == {"type": "start", "messageId": "r-7"}
    deltas = [part["delta"] for part in parts if part["type"] == "text-delta"]
    assert "".join(deltas) == "hello streaming world"
    assert parts[-1]["finishReason"] == "stop"
    assert parts[-1]["messageMetadata"]["usage"]["outputTokens"] == 3


async def test_the_pages_extra_body_chooses_the_model_and_the_chat_id_is_the_thread() -> None:
    seen: list[ChatRequest] = []

    async def stream(chat: ChatRequest) -> AsyncIterator[TextDelta | Finish | Failure]:
        seen.append(chat)
        yield Finish("stop", Usage())

    app = build_app(stream=stream, options=GatewayOptions())
    response, _ = await call(app, "POST", PATH, use_chat_body(model="echo/echo", max_tokens=5))
    assert response.status == 200
    [chat] = seen
    assert (chat.model, chat.max_tokens, chat.thread_id) == ("echo/echo", 5, "chat-1")


async def test_an_error_before_any_text_is_the_human_message_as_plain_text() -> None:
    app, script = scripted_app(Failure(MissingKey("no OPENAI_API_KEY")))
    response, body = await call(app, "POST", PATH, use_chat_body())
    assert response.status == 503
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["x-llmrelay-error-code"] == "missing_key"
    assert body == b"no OPENAI_API_KEY"
    assert script.closed


async def test_a_rate_limit_before_the_stream_keeps_its_retry_after() -> None:
    app, _ = scripted_app(Failure(RateLimited("slow down", retry_after=2.2)))
    response, body = await call(app, "POST", PATH, use_chat_body())
    assert (response.status, response.headers["retry-after"]) == (429, "3")
    assert response.headers["x-llmrelay-error-code"] == "rate_limited"
    assert body == b"slow down"


async def test_an_unknown_model_is_refused_before_the_stream_starts() -> None:
    response, body = await call(build_app(), "POST", PATH, use_chat_body(model="nope/x"))
    assert response.status == 400
    assert response.headers["x-llmrelay-error-code"] == "unknown_model"
    assert body.startswith(b"unknown provider 'nope'")


async def test_an_error_after_text_is_an_error_part_and_the_stream_still_finishes() -> None:
    app, _ = scripted_app(TextDelta("Hel"), Failure(UpstreamUnavailable("went away")))
    response, body = await call(app, "POST", PATH, use_chat_body())
    assert response.status == 200
    types = [part["type"] for part in parts_of(body)]
    assert types[-5:] == ["text-end", "data-llmrelay-error", "error", "finish-step", "finish"]
    assert {"type": "error", "errorText": "went away"} in parts_of(body)
    code = {"code": "upstream_unavailable", "message": "went away", "retryable": True}
    assert {"type": "data-llmrelay-error", "data": code, "transient": True} in parts_of(body)


async def test_a_quiet_upstream_gets_pings_between_parts() -> None:
    app, _ = scripted_app(Pause(0.05), TextDelta("a"), Finish(), ping_interval_ms=20)
    response, body = await call(app, "POST", PATH, use_chat_body())
    assert response.status == 200
    assert body.count(PING) >= 1
    assert [part["type"] for part in parts_of(body)][-2:] == ["finish-step", "finish"]


async def test_the_deadline_ends_the_stream_with_an_error_part() -> None:
    app, script = scripted_app(TextDelta("a"), Pause(5), Finish(), deadline_margin_ms=0)
    _, body = await call(app, "POST", PATH, use_chat_body(), context=Context(remaining_ms=150))
    errors = [part for part in parts_of(body) if part["type"] == "error"]
    assert errors[0]["errorText"]
    data = [part["data"] for part in parts_of(body) if part["type"] == "data-llmrelay-error"]
    assert data[0]["code"] == "deadline_exceeded"
    assert data[0]["message"] == errors[0]["errorText"]
    assert script.closed


BAD = [
    pytest.param(b"{", 400, "invalid_json", id="bad-json"),
    pytest.param(b'{"messages": "hi"}', 400, "invalid_request", id="messages-not-list"),
    pytest.param(b" " * 65, 413, "payload_too_large", id="too-large"),
]


@pytest.mark.parametrize(("body", "status", "code"), BAD)
async def test_bad_requests_are_plain_errors_with_a_code(
    body: bytes, status: int, code: str
) -> None:
    app = build_app(options=GatewayOptions(max_body_bytes=64))
    response, raw = await call(app, "POST", PATH, body)
    assert response.status == status
    assert response.headers["x-llmrelay-error-code"] == code
    assert raw
    assert not raw.startswith(b"{")


async def test_a_missing_client_key_is_the_human_message_as_plain_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``useChat`` shows the body of a refused request as ``error.message``: the gateway's own
    401 (and 404, 405) under ``/api/chat`` are plain text too, not the native JSON."""
    monkeypatch.setenv("LLMRELAY_AUTH", "api_key")
    app = build_app(secrets=StaticSecrets({HASHES_KEY: json.dumps([hash_key("k")])}))
    response, body = await call(app, "POST", PATH, use_chat_body())
    assert response.status == 401
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["x-llmrelay-error-code"] == "unauthorized"
    assert "www-authenticate" in response.headers
    assert not body.startswith(b"{")
    assert b"key" in body
    response, body = await call(app, "GET", PATH, headers={"authorization": "Bearer k"})
    assert (response.status, response.headers["allow"]) == (405, "POST")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert body == b"GET is not allowed here; use POST"


def readme_use_chat_body() -> dict[str, Any]:
    """The ``body`` of the README's ``useChat`` example, as its ``DefaultChatTransport``
    sends it (the model swapped for the echo demo)."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    example = readme.split("const transport = new DefaultChatTransport({", 1)[1]
    tools = example.split("tools: ", 1)[1].split("\n  },\n", 1)[0].rstrip().rstrip(",")
    tools = re.sub(r"//[^\n]*", "", tools).replace("'", '"')
    as_json = re.sub(r"([{,]\s*)(\w+):", r'\1"\2":', tools)
    return {"model": "echo/echo", "reasoning_effort": "low", "tools": json.loads(as_json)}


async def test_the_readmes_use_chat_body_with_tools_streams_a_call_of_its_tool() -> None:
    body = use_chat_body("/demo Oslo", **readme_use_chat_body())
    response, raw = await call(build_app(), "POST", PATH, body)
    assert response.status == 200, raw
    [available] = [p for p in parts_of(raw) if p["type"] == "tool-input-available"]
    assert (available["toolName"], available["input"]) == ("weather", {"text": "Oslo"})
