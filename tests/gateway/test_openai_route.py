from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import openai
import pytest
from openai import AsyncOpenAI
from tests.gateway.app_client import call, sdk_transport
from tests.gateway.fakes import Context, Pause, Script, Step
from tests.protocols.sse_reader import read_sse

from llmrelay.errors import RateLimited, UpstreamUnavailable
from llmrelay.events import Failure, Finish, TextDelta, Usage
from llmrelay.gateway import GatewayOptions, build_app
from llmrelay.http import App
from llmrelay.models import ChatRequest
from llmrelay.sse import PING

PATH = "/v1/chat/completions"
HELLO: Any = [{"role": "user", "content": "hello streaming world"}]


def sdk(app: App) -> AsyncOpenAI:
    """The official client, talking to ``app`` in process, with no retries."""
    http_client = httpx2.AsyncClient(transport=sdk_transport(app))
    return AsyncOpenAI(
        base_url="http://gateway.test/v1", api_key="unused", http_client=http_client, max_retries=0
    )


def scripted_app(*steps: Step, **options: Any) -> tuple[App, Script]:
    script = Script(steps)
    app = build_app(stream=lambda chat: script.stream(), options=GatewayOptions(**options))
    return app, script


async def test_the_sdk_streams_an_echo_answer_with_the_usage_chunk_last() -> None:
    async with sdk(build_app()) as client:
        stream = await client.chat.completions.create(
            model="echo/echo",
            messages=HELLO,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "hello streaming world"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (3, 3)
    assert {chunk.model for chunk in chunks} == {"echo/echo"}
    assert len({chunk.id for chunk in chunks}) == 1


async def test_the_sdk_gets_one_chat_completion_when_not_streaming() -> None:
    async with sdk(build_app()) as client:
        answer = await client.chat.completions.create(
            model="echo/echo", messages=HELLO, max_completion_tokens=2
        )
    assert answer.object == "chat.completion"
    assert answer.choices[0].message.content == "hello streaming "
    assert answer.choices[0].finish_reason == "length"
    assert answer.usage is not None
    assert answer.usage.completion_tokens == 2


async def test_the_response_is_sse_with_the_gateways_headers() -> None:
    response, body = await call(build_app(), "POST", PATH, {"messages": HELLO, "stream": True})
    assert response.status == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert [event.event for event in read_sse(body)] == ["message"] * 6


async def test_an_unknown_model_is_a_400_the_sdk_raises_as_bad_request() -> None:
    async with sdk(build_app()) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.chat.completions.create(model="nope/model", messages=HELLO, stream=True)
    assert caught.value.status_code == 400
    assert caught.value.code == "unknown_model"
    assert caught.value.param == "model"
    assert caught.value.type == "invalid_request_error"


async def test_an_unsupported_parameter_is_refused_by_name() -> None:
    async with sdk(build_app()) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.chat.completions.create(model="echo/echo", messages=HELLO, n=3)
    assert caught.value.code == "invalid_request"
    assert "n: not supported" in caught.value.message
    assert caught.value.param == "n"


async def test_a_bad_field_is_named_in_the_errors_param() -> None:
    tool: Any = {"type": "retrieval"}
    async with sdk(build_app()) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.chat.completions.create(model="echo/echo", messages=HELLO, tools=[tool])
        with pytest.raises(openai.BadRequestError) as typed:
            await client.chat.completions.create(model="echo/echo", messages=HELLO, temperature=9)
    assert caught.value.param == "tools.0.type"
    assert typed.value.param == "temperature"


async def test_a_parameter_the_provider_cannot_honour_is_its_param() -> None:
    async with sdk(build_app()) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.chat.completions.create(
                model="anthropic/claude-sonnet-4-6", messages=HELLO, seed=1
            )
    assert caught.value.code == "unsupported_parameter"
    assert caught.value.param == "seed"


async def test_a_failure_before_any_text_keeps_its_status_and_retry_after() -> None:
    app, script = scripted_app(Failure(RateLimited("slow down", retry_after=2.5)))
    async with sdk(app) as client:
        with pytest.raises(openai.RateLimitError) as caught:
            await client.chat.completions.create(model="echo/echo", messages=HELLO, stream=True)
    assert caught.value.response.headers["retry-after"] == "3"
    assert caught.value.code == "rate_limited"
    assert caught.value.type == "rate_limit_error"
    assert script.closed


async def test_a_failure_after_text_reaches_the_sdk_as_an_api_error_mid_stream() -> None:
    app, _ = scripted_app(TextDelta("Hel"), Failure(UpstreamUnavailable("went away")))
    seen: list[str] = []

    async def read_all(client: AsyncOpenAI) -> None:
        stream = await client.chat.completions.create(
            model="echo/echo", messages=HELLO, stream=True
        )
        async for chunk in stream:
            seen.append(chunk.choices[0].delta.content or "")

    async with sdk(app) as client:
        with pytest.raises(openai.APIError) as caught:
            await read_all(client)
    assert "".join(seen) == "Hel"
    assert caught.value.message == "went away"
    assert caught.value.body == {
        "message": "went away",
        "type": "server_error",
        "code": "upstream_unavailable",
        "param": None,
    }


async def test_a_non_streamed_answer_that_fails_late_still_gets_an_http_error() -> None:
    app, _ = scripted_app(TextDelta("Hel"), Failure(UpstreamUnavailable("went away")))
    async with sdk(app) as client:
        with pytest.raises(openai.InternalServerError) as caught:
            await client.chat.completions.create(model="echo/echo", messages=HELLO)
    assert caught.value.status_code == 502
    assert caught.value.code == "upstream_unavailable"


async def test_a_quiet_upstream_gets_pings_that_the_sdk_skips() -> None:
    app, _ = scripted_app(Pause(0.05), TextDelta("a"), Pause(0.05), Finish(), ping_interval_ms=20)
    response, body = await call(app, "POST", PATH, {"messages": HELLO, "stream": True})
    assert response.status == 200
    assert body.count(PING) >= 2
    async with sdk(app) as client:
        stream = await client.chat.completions.create(
            model="echo/echo", messages=HELLO, stream=True
        )
        assert [chunk.choices[0].delta.content async for chunk in stream] == ["", "a", None]


async def test_the_deadline_ends_a_stream_with_an_in_band_error() -> None:
    app, script = scripted_app(TextDelta("a"), Pause(5), Finish(), deadline_margin_ms=0)
    _, body = await call(
        app, "POST", PATH, {"messages": HELLO, "stream": True}, context=Context(remaining_ms=150)
    )
    data = [event.data for event in read_sse(body)]
    assert data[-1] == "[DONE]"
    assert json.loads(data[-2])["error"]["code"] == "deadline_exceeded"
    assert script.closed


async def test_a_client_that_stops_reading_closes_the_upstream() -> None:
    app, script = scripted_app(TextDelta("a"), Pause(5), Finish())
    async with sdk(app) as client:
        stream = await client.chat.completions.create(
            model="echo/echo", messages=HELLO, stream=True
        )
        async for _ in stream:
            break
        await stream.close()
    assert script.closed


async def test_the_provider_gets_the_request_in_llmrelays_terms() -> None:
    seen: list[ChatRequest] = []

    async def stream(chat: ChatRequest) -> AsyncIterator[TextDelta | Finish | Failure]:
        seen.append(chat)
        yield Finish("stop", Usage())

    app = build_app(stream=stream, options=GatewayOptions())
    async with sdk(app) as client:
        await client.chat.completions.create(
            model="echo/echo",
            messages=[
                {"role": "developer", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "hi"}]},
            ],
            temperature=0.2,
            max_tokens=9,
            user="person-1",
            top_p=0.5,
        )
    [chat] = seen
    assert [(m.role, m.text) for m in chat.messages] == [("system", "be brief"), ("user", "hi")]
    assert (chat.temperature, chat.max_tokens, chat.user) == (0.2, 9, "person-1")
    assert chat.top_p == 0.5


ERRORS = [
    pytest.param("GET", b"", 405, "method_not_allowed", id="wrong-method"),
    pytest.param("POST", b"{", 400, "invalid_json", id="bad-json"),
    pytest.param("POST", b" " * 65, 413, "payload_too_large", id="too-large"),
]


@pytest.mark.parametrize(("method", "body", "status", "code"), ERRORS)
async def test_request_errors_have_a_status_and_a_json_error_with_a_code(
    method: str, body: bytes, status: int, code: str
) -> None:
    app = build_app(options=GatewayOptions(max_body_bytes=64))
    response, raw = await call(app, method, PATH, body)
    assert response.status == status
    assert response.headers["content-type"] == "application/json"
    assert json.loads(raw)["error"]["code"] == code


async def test_the_sdk_reassembles_reasoning_and_a_tool_call_from_the_echo_demo() -> None:
    weather: Any = {"type": "function", "function": {"name": "weather", "parameters": {}}}
    async with sdk(build_app()) as client:
        stream = await client.chat.completions.create(
            model="echo/echo",
            messages=[{"role": "user", "content": "/demo Zürich"}],
            tools=[weather],
            stream=True,
        )
        chunks = [chunk async for chunk in stream]
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    reasoning = "".join((d.model_extra or {}).get("reasoning_content") or "" for d in deltas)
    assert reasoning.startswith("The user wrote 1 words")
    assert "".join(d.content or "" for d in deltas) == "Zürich"
    calls = [call for d in deltas for call in d.tool_calls or ()]
    assert calls[0].index == 0
    assert calls[0].id is not None
    assert calls[0].function is not None
    assert calls[0].function.name == "weather"
    arguments = "".join(c.function.arguments or "" for c in calls if c.function)
    assert json.loads(arguments) == {"text": "Zürich"}
    assert {c.index for c in calls} == {0}
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"


async def test_a_provider_that_cannot_honour_a_parameter_gets_a_400_naming_it() -> None:
    async with sdk(build_app()) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.chat.completions.create(model="anthropic/claude-x", messages=HELLO, seed=3)
    assert caught.value.code == "unsupported_parameter"
    assert "seed" in caught.value.message


async def test_a_batch_answer_carries_the_tool_calls_and_the_reasoning() -> None:
    async with sdk(build_app()) as client:
        answer = await client.chat.completions.create(
            model="echo/echo", messages=[{"role": "user", "content": "/demo Oslo"}]
        )
    message = answer.choices[0].message
    assert answer.choices[0].finish_reason == "tool_calls"
    assert message.content == "Oslo"
    assert (message.model_extra or {}).get("reasoning_content")
    assert message.tool_calls is not None
    [call] = message.tool_calls
    assert call.type == "function"
    assert call.function.name == "echo"
    assert json.loads(call.function.arguments) == {"text": "Oslo"}
