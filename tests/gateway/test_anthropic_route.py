"""``POST /v1/messages`` through the official ``anthropic`` SDK, in process: streamed
(``messages.stream``) and whole (``messages.create``), from the echo provider, from scripted
streams and from the OpenAI fake upstream; errors as the SDK's own exceptions."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anthropic
import httpx2
import pytest
from anthropic import AsyncAnthropic
from tests.gateway.app_client import call, sdk_transport
from tests.gateway.fakes import Pause, Script, Step
from tests.leakscan import CANARY_SECRETS

from llmrelay import stream_resilient
from llmrelay.chat import build_call, route
from llmrelay.config import Settings
from llmrelay.errors import RateLimited, UpstreamUnavailable
from llmrelay.events import Failure, Finish, TextDelta
from llmrelay.gateway import GatewayOptions, build_app
from llmrelay.gateway.auth import HASHES_KEY, hash_key
from llmrelay.http import App
from llmrelay.models import ChatRequest
from llmrelay.parts import ReasoningPart
from llmrelay.resilience import AnswerStream
from llmrelay.secrets import StaticSecrets
from llmrelay.sse import PING
from llmrelay.testing import FakeAnthropic, FakeOpenAI, FakeToolCall, Reply

PATH = "/v1/messages"
HELLO: Any = [{"role": "user", "content": "hello streaming world"}]


def sdk(app: App, api_key: str = "unused") -> AsyncAnthropic:
    """The official client, talking to ``app`` in process, with no retries."""
    http_client = httpx2.AsyncClient(transport=sdk_transport(app))
    return AsyncAnthropic(
        base_url="http://gateway.test", api_key=api_key, http_client=http_client, max_retries=0
    )


def scripted_app(*steps: Step, **options: Any) -> tuple[App, Script]:
    script = Script(steps)
    app = build_app(stream=lambda chat: script.stream(), options=GatewayOptions(**options))
    return app, script


async def test_the_sdk_streams_an_echo_answer_and_its_final_message() -> None:
    async with (
        sdk(build_app()) as client,
        client.messages.stream(model="echo/echo", max_tokens=100, messages=HELLO) as stream,
    ):
        pieces = [text async for text in stream.text_stream]
        final = await stream.get_final_message()
    assert pieces == ["hello ", "streaming ", "world"]
    assert [block.to_dict() for block in final.content] == [
        {"type": "text", "text": "hello streaming world"}
    ]
    assert final.stop_reason == "end_turn"
    assert final.model == "echo/echo"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (3, 3)


async def test_the_sdk_gets_one_message_when_not_streaming() -> None:
    async with sdk(build_app()) as client:
        answer = await client.messages.create(
            model="echo/echo", max_tokens=2, system="Be brief.", messages=HELLO
        )
    assert answer.type == "message"
    assert [block.to_dict() for block in answer.content] == [
        {"type": "text", "text": "hello streaming "}
    ]
    assert answer.stop_reason == "max_tokens"
    assert answer.usage.output_tokens == 2
    assert answer.id.startswith("msg_")


WEATHER: Any = {
    "name": "weather",
    "description": "The weather in a city.",
    "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}},
}


async def demo(client: AsyncAnthropic, messages: Any) -> anthropic.types.Message:
    async with client.messages.stream(
        model="echo/echo",
        max_tokens=2048,
        messages=messages,
        tools=[WEATHER],
        thinking={"type": "enabled", "budget_tokens": 1024},
    ) as stream:
        return await stream.get_final_message()


async def test_the_echo_demo_streams_thinking_with_its_signature_text_and_a_tool_call() -> None:
    async with sdk(build_app()) as client:
        final = await demo(client, [{"role": "user", "content": "/demo Zürich"}])
    thinking, text, tool_use = final.content
    assert thinking.type == "thinking"
    assert thinking.thinking.startswith("The user wrote 1 words")
    assert len(thinking.signature) == 64  # the demo signs with a SHA-256 hex digest
    assert text.type == "text"
    assert text.text == "Zürich"
    assert tool_use.type == "tool_use"
    assert (tool_use.name, tool_use.input) == ("weather", {"text": "Zürich"})
    assert final.stop_reason == "tool_use"


async def test_the_signature_the_sdk_sends_back_reaches_the_provider_unchanged() -> None:
    seen: list[ChatRequest] = []
    settings = Settings.from_env({})

    def recording(chat: ChatRequest) -> AnswerStream:
        seen.append(chat)
        return stream_resilient(chat, settings=settings, secrets=StaticSecrets({}))

    app = build_app(stream=recording, options=GatewayOptions(), settings=settings)
    async with sdk(app) as client:
        first = await demo(client, [{"role": "user", "content": "/demo Oslo"}])
        tool_use = first.content[-1]
        assert tool_use.type == "tool_use"
        result = {"type": "tool_result", "tool_use_id": tool_use.id, "content": "sunny"}
        second = await demo(
            client,
            [
                {"role": "user", "content": "/demo Oslo"},
                {"role": "assistant", "content": first.content},
                {"role": "user", "content": [result]},
            ],
        )
    signature = first.content[0].signature  # type: ignore[union-attr]
    call = build_call(seen[1], route(seen[1], settings), StaticSecrets({}), settings)
    [reasoning] = [p for m in call.messages for p in m.parts if isinstance(p, ReasoningPart)]
    assert reasoning.signature == signature
    assert reasoning.text == first.content[0].thinking  # type: ignore[union-attr]
    assert [block.to_dict() for block in second.content] == [
        {"type": "text", "text": "Tool weather answered: sunny"}
    ]


async def test_a_batch_answer_carries_thinking_and_the_tool_call() -> None:
    async with sdk(build_app()) as client:
        answer = await client.messages.create(
            model="echo/echo",
            max_tokens=200,
            messages=[{"role": "user", "content": "/demo Oslo"}],
        )
    assert [block.type for block in answer.content] == ["thinking", "text", "tool_use"]
    assert answer.content[2].input == {"text": "Oslo"}  # type: ignore[union-attr]
    assert answer.stop_reason == "tool_use"


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


CALLS = (
    FakeToolCall("call_a", "weather", ('{"city": "Zü', 'rich"}')),
    FakeToolCall("call_b", "clock", ('{"tz": ', '"Europe/Zürich"}')),
)


def openai_app(fake: FakeOpenAI) -> App:
    settings = Settings.from_env({"LLMRELAY_OPENAI_BASE_URL": f"{fake.url}/v1"})
    return build_app(settings=settings, secrets=StaticSecrets(CANARY_SECRETS))


@pytest.mark.parametrize("streamed", [True, False], ids=["stream", "create"])
async def test_an_openai_upstreams_parallel_calls_and_cache_usage_arrive_as_sent(
    fake_openai: FakeOpenAI, streamed: bool
) -> None:
    reply = Reply(
        reasoning=("Two ", "tools."),
        pieces=("Let me ", "check."),
        tool_calls=CALLS,
        finish_reason="tool_calls",
        input_tokens=50,
        cached_tokens=30,
        output_tokens=12,
        reasoning_tokens=4,
    )
    fake_openai.queue(reply, reply)
    params: Any = {"model": "openai/gpt-4o-mini", "max_tokens": 300, "messages": HELLO}
    async with sdk(openai_app(fake_openai)) as client:
        if streamed:
            async with client.messages.stream(**params) as stream:
                final = await stream.get_final_message()
        else:
            final = await client.messages.create(**params)
    assert [block.to_dict() for block in final.content] == [
        {"type": "thinking", "thinking": "Two tools.", "signature": ""},
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "call_a", "name": "weather", "input": {"city": "Zürich"}},
        {"type": "tool_use", "id": "call_b", "name": "clock", "input": {"tz": "Europe/Zürich"}},
    ]
    assert final.stop_reason == "tool_use"
    usage = final.usage
    # Anthropic's convention: input_tokens leaves out the cached tokens reported beside it.
    assert (usage.input_tokens, usage.cache_read_input_tokens) == (20, 30)
    assert (usage.cache_creation_input_tokens, usage.output_tokens) == (0, 12)
    assert usage.output_tokens_details is not None
    assert usage.output_tokens_details.thinking_tokens == 4
    [sent] = [request.body for request in fake_openai.requests]
    assert sent["max_completion_tokens"] == 300 or sent.get("max_tokens") == 300


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake


@pytest.mark.parametrize("streamed", [True, False], ids=["stream", "create"])
async def test_stop_sequences_and_top_k_reach_anthropic_and_the_sequence_met_comes_back(
    fake_anthropic: FakeAnthropic, streamed: bool
) -> None:
    fake_anthropic.queue(
        Reply(pieces=("one ", "two "), finish_reason="stop_sequence", stop_sequence="THREE")
    )
    settings = Settings.from_env({"LLMRELAY_ANTHROPIC_BASE_URL": fake_anthropic.url})
    app = build_app(settings=settings, secrets=StaticSecrets(CANARY_SECRETS))
    params: Any = {
        "model": "anthropic/claude-haiku-4-5",
        "max_tokens": 100,
        "messages": HELLO,
        "stop_sequences": ["THREE"],
        "extra_body": {"top_k": 20},
    }
    async with sdk(app) as client:
        if streamed:
            async with client.messages.stream(**params) as stream:
                final = await stream.get_final_message()
        else:
            final = await client.messages.create(**params)
    assert (final.stop_reason, final.stop_sequence) == ("stop_sequence", "THREE")
    assert final.content[0].text == "one two "  # type: ignore[union-attr]
    [sent] = [request.body for request in fake_anthropic.requests]
    assert (sent["stop_sequences"], sent["top_k"]) == (["THREE"], 20)


async def test_an_unknown_model_is_a_bad_request_with_its_code() -> None:
    async with sdk(build_app()) as client:
        with pytest.raises(anthropic.BadRequestError) as caught:
            await client.messages.create(model="nope/model", max_tokens=5, messages=HELLO)
    assert caught.value.type == "invalid_request_error"
    assert caught.value.error_code == "unknown_model"
    assert caught.value.api_message is not None
    assert "unknown provider 'nope'" in caught.value.api_message


async def test_a_parameter_the_provider_cannot_take_is_refused_by_name() -> None:
    async with sdk(build_app()) as client:
        with pytest.raises(anthropic.BadRequestError) as caught:
            await client.messages.create(
                model="openai/gpt-4o-mini", max_tokens=5, messages=HELLO, extra_body={"top_k": 3}
            )
    assert caught.value.error_code == "unsupported_parameter"
    assert caught.value.api_message == "top_k: not supported by provider 'openai'"


async def test_a_provider_refusal_names_the_parameter_as_the_client_sent_it() -> None:
    async with sdk(build_app()) as client:
        with pytest.raises(anthropic.BadRequestError) as caught:
            await client.messages.create(
                model="bedrock/anthropic.claude-x",
                max_tokens=100,
                messages=HELLO,
                tools=[WEATHER],
                tool_choice={"type": "auto", "disable_parallel_tool_use": True},
            )
    assert caught.value.error_code == "unsupported_parameter"
    assert caught.value.api_message == (
        "tool_choice.disable_parallel_tool_use: not supported by provider 'bedrock'"
    )


async def final_of(client: AsyncAnthropic) -> anthropic.types.Message:
    async with client.messages.stream(model="echo/echo", max_tokens=5, messages=HELLO) as stream:
        return await stream.get_final_message()


async def test_a_failure_before_any_text_keeps_its_status_and_retry_after() -> None:
    app, script = scripted_app(Failure(RateLimited("slow down", retry_after=2.5)))
    async with sdk(app) as client:
        with pytest.raises(anthropic.RateLimitError) as caught:
            await final_of(client)
    assert caught.value.response.headers["retry-after"] == "3"
    assert caught.value.type == "rate_limit_error"
    assert caught.value.error_code == "rate_limited"
    assert script.closed


async def test_a_failure_after_text_reaches_the_sdk_as_an_error_event() -> None:
    app, _ = scripted_app(TextDelta("Hel"), Failure(UpstreamUnavailable("went away")))
    seen: list[str] = []

    async def read_all(client: AsyncAnthropic) -> None:
        async with client.messages.stream(
            model="echo/echo", max_tokens=5, messages=HELLO
        ) as stream:
            async for text in stream.text_stream:
                seen.append(text)

    async with sdk(app) as client:
        with pytest.raises(anthropic.APIStatusError) as caught:
            await read_all(client)
    assert seen == ["Hel"]
    assert caught.value.type == "api_error"
    assert caught.value.error_code == "upstream_unavailable"
    assert caught.value.api_message == "went away"


async def test_a_non_streamed_answer_that_fails_late_still_gets_an_http_error() -> None:
    app, _ = scripted_app(TextDelta("Hel"), Failure(UpstreamUnavailable("went away")))
    async with sdk(app) as client:
        with pytest.raises(anthropic.InternalServerError) as caught:
            await client.messages.create(model="echo/echo", max_tokens=5, messages=HELLO)
    assert caught.value.status_code == 502
    assert caught.value.error_code == "upstream_unavailable"


async def test_a_quiet_upstream_gets_ping_events_that_the_sdk_skips() -> None:
    app, _ = scripted_app(Pause(0.05), TextDelta("a"), Pause(0.05), Finish(), ping_interval_ms=20)
    body = {"model": "echo/echo", "max_tokens": 5, "messages": HELLO, "stream": True}
    response, raw = await call(app, "POST", PATH, body)
    assert response.status == 200
    assert raw.count(b"event: ping\n") >= 2
    assert PING not in raw  # Anthropic's pings are events, not comments
    async with (
        sdk(app) as client,
        client.messages.stream(model="echo/echo", max_tokens=5, messages=HELLO) as stream,
    ):
        assert [text async for text in stream.text_stream] == ["a"]


async def test_a_client_that_stops_reading_closes_the_upstream() -> None:
    app, script = scripted_app(TextDelta("a"), Pause(5), Finish())
    async with (
        sdk(app) as client,
        client.messages.stream(model="echo/echo", max_tokens=5, messages=HELLO) as stream,
    ):
        async for _ in stream.text_stream:
            break
    assert script.closed


async def test_the_sdks_x_api_key_is_a_client_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMRELAY_AUTH", "api_key")
    secrets = StaticSecrets({HASHES_KEY: json.dumps([hash_key("client-key-1")])})
    app = build_app(secrets=secrets)
    async with sdk(app, api_key="client-key-1") as client:
        answer = await client.messages.create(model="echo/echo", max_tokens=5, messages=HELLO)
    assert answer.content[0].text == "hello streaming world"  # type: ignore[union-attr]
    async with sdk(app, api_key="wrong") as client:
        with pytest.raises(anthropic.AuthenticationError) as caught:
            await client.messages.create(model="echo/echo", max_tokens=5, messages=HELLO)
    assert caught.value.type == "authentication_error"
    assert caught.value.error_code == "unauthorized"


ERRORS = [
    pytest.param("POST", b"{", 400, "invalid_json", id="bad-json"),
    pytest.param("POST", b" " * 65, 413, "payload_too_large", id="too-large"),
    pytest.param("POST", b'{"messages": []}', 400, "invalid_request", id="no-max-tokens"),
]


@pytest.mark.parametrize(("method", "body", "status", "code"), ERRORS)
async def test_request_errors_have_a_status_and_anthropics_error_shape(
    method: str, body: bytes, status: int, code: str
) -> None:
    app = build_app(options=GatewayOptions(max_body_bytes=64))
    response, raw = await call(app, method, PATH, body)
    assert response.status == status
    assert response.headers["content-type"] == "application/json"
    document = json.loads(raw)
    assert document["type"] == "error"
    assert set(document["error"]) == {"type", "message", "details"}
    assert document["error"]["details"] == {"error_code": code}


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        pytest.param("GET", PATH, 405, "method_not_allowed", id="wrong-method"),
        pytest.param("POST", f"{PATH}/count_tokens", 404, "not_found", id="unknown-path"),
    ],
)
async def test_the_routers_errors_under_v1_messages_are_anthropics(
    method: str, path: str, status: int, code: str
) -> None:
    response, raw = await call(build_app(), method, path)
    assert response.status == status
    kind = "not_found_error" if status == 404 else "invalid_request_error"
    document = json.loads(raw)
    assert document == {
        "type": "error",
        "error": {
            "type": kind,
            "message": document["error"]["message"],
            "details": {"error_code": code},
        },
    }


async def test_a_missing_client_key_is_anthropics_authentication_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LLMRELAY_AUTH", "api_key")
    app = build_app(secrets=StaticSecrets({HASHES_KEY: json.dumps([hash_key("k")])}))
    response, raw = await call(app, "POST", PATH, {"max_tokens": 5, "messages": HELLO})
    assert response.status == 401
    error = json.loads(raw)["error"]
    assert (error["type"], error["details"]) == (
        "authentication_error",
        {"error_code": "unauthorized"},
    )


async def stream_of(chat: ChatRequest) -> AsyncIterator[TextDelta | Finish | Failure]:
    yield Finish()


async def test_the_provider_gets_the_request_in_llmrelays_terms() -> None:
    seen: list[ChatRequest] = []

    def recording(chat: ChatRequest) -> AsyncIterator[TextDelta | Finish | Failure]:
        seen.append(chat)
        return stream_of(chat)

    app = build_app(stream=recording, options=GatewayOptions())
    async with sdk(app) as client:
        await client.messages.create(
            model="echo/echo",
            max_tokens=9,
            system=[{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}],
            messages=[{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
            stop_sequences=["END"],
            metadata={"user_id": "person-1"},
            extra_body={"temperature": 0.2, "top_p": 0.5},
        )
    [chat] = seen
    assert [(m.role, m.text) for m in chat.messages] == [("system", "be brief"), ("user", "hi")]
    assert (chat.temperature, chat.top_p, chat.max_tokens) == (0.2, 0.5, 9)
    assert (chat.stop, chat.user) == (["END"], "person-1")


PIXEL = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


async def test_an_image_in_a_tool_result_is_refused_by_an_openai_upstream(
    fake_openai: FakeOpenAI,
) -> None:
    """Chat Completions' tool messages take text only: the image is refused, not dropped."""
    image = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": PIXEL},
    }
    messages: Any = [
        {"role": "user", "content": "Take a screenshot."},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "shot", "input": {}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [image]}],
        },
    ]
    tools: Any = [{"name": "shot", "input_schema": {"type": "object"}}]
    async with sdk(openai_app(fake_openai)) as client:
        with pytest.raises(anthropic.BadRequestError) as caught:
            await client.messages.create(
                model="openai/gpt-4o-mini", max_tokens=100, messages=messages, tools=tools
            )
    assert caught.value.error_code == "unsupported_parameter"
    assert caught.value.api_message == (
        "messages: images in tool results are not supported by provider 'openai'"
    )
    assert fake_openai.requests == []
