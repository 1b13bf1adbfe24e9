"""The Anthropic provider, driven through ``stream_chat`` and the real SDK against a fake
Messages API on loopback that speaks Anthropic's streaming wire format."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from llmrelay import ChatRequest, Finish, StreamEvent, TextDelta, Usage, stream_chat
from llmrelay.config import Settings
from llmrelay.errors import (
    AuthenticationFailed,
    LLMRelayError,
    RateLimited,
    UpstreamBadRequest,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from llmrelay.events import BlockEnd, BlockStart
from llmrelay.httpd import Request, ResponseWriter
from llmrelay.providers import registry
from llmrelay.providers.anthropic import DEFAULT_MAX_TOKENS, AnthropicProvider
from llmrelay.providers.base import ProviderCall
from llmrelay.secrets import SecretStore, StaticSecrets
from llmrelay.testing import FakeAnthropic, Fault, Reply
from llmrelay.testing.anthropic_fake import key_of

KEY = "sk-ant-api03-test-0123456789abcdef"
MODEL = "anthropic/claude-sonnet-4-6"
WORK_PROMPT = "You are an assistant for the user's Work context."


# --- fixtures and helpers -------------------------------------------------------------------


# One server, one event loop and one provider for the module, so that the SDK client (and
# its connection) is made once, as in a warm Lambda; each test starts with an empty script.
pytestmark = pytest.mark.asyncio(loop_scope="module")


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
def settings(fake: FakeAnthropic) -> Settings:
    return Settings.from_env(
        {
            "LLMRELAY_ANTHROPIC_BASE_URL": fake.url,
            "LLMRELAY_CONTEXTS": json.dumps({"work": WORK_PROMPT}),
        }
    )


def use_provider(monkeypatch: pytest.MonkeyPatch, provider: AnthropicProvider) -> None:
    """Make ``stream_chat`` use ``provider`` (e.g. with short timeouts) for this test."""
    monkeypatch.setitem(registry._loaded, "anthropic", provider)


@pytest.fixture(scope="module")
def warm_provider() -> AnthropicProvider:
    return AnthropicProvider(read_timeout_s=5.0)


@pytest.fixture
def provider(
    monkeypatch: pytest.MonkeyPatch, warm_provider: AnthropicProvider
) -> AnthropicProvider:
    use_provider(monkeypatch, warm_provider)
    return warm_provider


def chat(text: str = "Hi", **fields: Any) -> ChatRequest:
    messages = fields.pop("messages", [{"role": "user", "content": text}])
    return ChatRequest.parse({"model": MODEL, "messages": messages, **fields})


async def collect(
    settings: Settings, request: ChatRequest | None = None, secrets: SecretStore | None = None
) -> list[StreamEvent]:
    stream = stream_chat(
        request or chat(),
        settings=settings,
        secrets=secrets or StaticSecrets({"ANTHROPIC_API_KEY": KEY}),
    )
    return [event async for event in stream]


async def failure(
    settings: Settings, request: ChatRequest | None = None, key: str = KEY
) -> tuple[list[str], LLMRelayError]:
    """The text that arrived before the call failed, and its error."""
    texts: list[str] = []
    secrets = StaticSecrets({"ANTHROPIC_API_KEY": key})
    stream = stream_chat(request or chat(), settings=settings, secrets=secrets)
    with pytest.raises(LLMRelayError) as caught:
        await drain_text(stream, texts)
    return texts, caught.value


async def drain_text(stream: AsyncIterator[StreamEvent], texts: list[str]) -> None:
    """Read ``stream`` into ``texts``; a failing stream never reaches its ``Finish``."""
    async for event in stream:
        assert isinstance(event, TextDelta | BlockStart | BlockEnd)
        if isinstance(event, TextDelta):
            texts.append(event.text)


def texts_of(events: list[StreamEvent]) -> list[str]:
    return [event.text for event in events if isinstance(event, TextDelta)]


# --- the answer -----------------------------------------------------------------------------

TEXTS = {
    "ascii": ("Hello", ", ", "world", "!"),
    "one-piece": ("Just one piece.",),
    "multi-byte": ("héllo ", "wörld ", "日本語 ", "🙂🚀", " naïve"),
    "newlines-and-quotes": ('line "one"\n', "line\ttwo\r\n", "\\ back"),
}


@pytest.mark.parametrize("split_writes", [False, True], ids=["whole-writes", "split-writes"])
@pytest.mark.parametrize("pieces", TEXTS.values(), ids=TEXTS.keys())
async def test_text_arrives_exactly_piece_by_piece(
    fake: FakeAnthropic,
    settings: Settings,
    provider: AnthropicProvider,
    pieces: tuple[str, ...],
    split_writes: bool,
) -> None:
    fake.queue(Reply(pieces=pieces, split_writes=split_writes))

    events = await collect(settings)

    assert texts_of(events) == list(pieces)
    kinds = [BlockStart, *[TextDelta] * len(pieces), BlockEnd, Finish]
    assert [type(event) for event in events] == kinds


async def test_usage_is_read_from_the_final_message_not_summed(
    fake: FakeAnthropic, settings: Settings, provider: AnthropicProvider
) -> None:
    # message_start says output_tokens=1 and message_delta repeats input_tokens: adding
    # the counts up would report 22 in and 6 out.
    fake.queue(Reply(input_tokens=11, output_tokens=5))

    events = await collect(settings)

    assert events[-1] == Finish("stop", Usage(input_tokens=11, output_tokens=5))


STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
    "tool_use": "tool_calls",
    "pause_turn": "other",
}


@pytest.mark.parametrize(("stop_reason", "expected"), STOP_REASONS.items(), ids=STOP_REASONS.keys())
async def test_stop_reason_becomes_the_finish_reason(
    fake: FakeAnthropic,
    settings: Settings,
    provider: AnthropicProvider,
    stop_reason: str,
    expected: str,
) -> None:
    fake.queue(Reply(finish_reason=stop_reason))

    events = await collect(settings)

    assert isinstance(events[-1], Finish)
    assert events[-1].reason == expected


# --- what is sent ---------------------------------------------------------------------------

SYSTEM_CASES = {
    "no-system-prompt": ({}, [], None),
    "system-message": ({}, [{"role": "system", "content": "Be brief."}], "Be brief."),
    "context-prompt": ({"context_id": "work"}, [], WORK_PROMPT),
    "context-and-system-messages": (
        {"context_id": "work"},
        [{"role": "system", "content": "Be brief."}, {"role": "system", "content": "Be kind."}],
        f"{WORK_PROMPT}\n\nBe brief.\n\nBe kind.",
    ),
}


@pytest.mark.parametrize(
    ("fields", "system", "expected"), SYSTEM_CASES.values(), ids=SYSTEM_CASES.keys()
)
async def test_system_prompt_goes_in_the_system_parameter(
    fake: FakeAnthropic,
    settings: Settings,
    provider: AnthropicProvider,
    fields: dict[str, Any],
    system: list[dict[str, str]],
    expected: str | None,
) -> None:
    turns = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Sum up."},
    ]

    await collect(settings, chat(messages=[*system, *turns], **fields))

    body = fake.requests[0].body
    assert body.get("system") == expected
    assert body["messages"] == turns


@pytest.mark.parametrize(
    ("requested", "sent"), [(123, 123), (None, DEFAULT_MAX_TOKENS)], ids=["requested", "default"]
)
async def test_max_tokens_is_always_sent(
    fake: FakeAnthropic,
    settings: Settings,
    provider: AnthropicProvider,
    requested: int | None,
    sent: int,
) -> None:
    await collect(settings, chat(max_tokens=requested))

    assert fake.requests[0].body["max_tokens"] == sent


async def test_model_key_and_api_version_reach_the_upstream(
    fake: FakeAnthropic, settings: Settings, provider: AnthropicProvider
) -> None:
    await collect(settings)

    sent = fake.requests[0]
    assert (sent.method, sent.path) == ("POST", "/v1/messages")
    assert sent.body["model"] == "claude-sonnet-4-6"
    assert sent.body["stream"] is True
    assert key_of(sent) == KEY
    assert sent.headers["anthropic-version"]


OPTIONAL_CASES = {
    "unset": ({}, {}),
    "temperature": ({"temperature": 0.3}, {"temperature": 0.3}),
    "user": ({"user": "user-42"}, {"metadata": {"user_id": "user-42"}}),
    "stop": ({"stop": ["END", "STOP"]}, {"stop_sequences": ["END", "STOP"]}),
    "top_p": ({"top_p": 0.25}, {"top_p": 0.25}),
    "both-sampling": (
        {"temperature": 0.5, "top_p": 0.5},
        {"temperature": 0.5, "top_p": 0.5},
    ),
}


@pytest.mark.parametrize(("fields", "expected"), OPTIONAL_CASES.values(), ids=OPTIONAL_CASES.keys())
async def test_optional_fields_are_sent_only_when_set(
    fake: FakeAnthropic,
    settings: Settings,
    provider: AnthropicProvider,
    fields: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    await collect(settings, chat(**fields))

    body = fake.requests[0].body
    names = ("temperature", "top_p", "metadata", "stop_sequences")
    sent = {name: body[name] for name in names if name in body}
    assert sent == expected


async def test_one_client_per_key_and_base_url_is_reused_across_calls(
    fake: FakeAnthropic, settings: Settings, provider: AnthropicProvider
) -> None:
    call = ProviderCall("anthropic", "claude-sonnet-4-6", (), api_key=KEY, base_url=fake.url)
    other_key = ProviderCall("anthropic", "claude-sonnet-4-6", (), api_key="k2", base_url=fake.url)

    await collect(settings)
    client = provider.client_for(call)
    await collect(settings)

    assert provider.client_for(call) is client
    assert provider.client_for(other_key) is not client
    assert len(fake.requests) == 2


# --- failures -------------------------------------------------------------------------------

STATUS_CASES = {
    "401-unauthorized": (Fault("status", 401), AuthenticationFailed, None),
    "403-forbidden": (Fault("status", 403), AuthenticationFailed, None),
    "429-with-retry-after": (Fault("status", 429, retry_after="7"), RateLimited, 7.0),
    "429-without-retry-after": (Fault("status", 429), RateLimited, None),
    "500-api-error": (Fault("status", 500), UpstreamUnavailable, None),
    "503-unavailable": (Fault("status", 503), UpstreamUnavailable, None),
    "529-overloaded": (Fault("status", 529), UpstreamUnavailable, None),
    "400-invalid-request": (Fault("status", 400), UpstreamBadRequest, None),
    "404-not-found": (Fault("status", 404), UpstreamBadRequest, None),
    "413-too-large": (Fault("status", 413), UpstreamBadRequest, None),
    "422-unprocessable": (Fault("status", 422), UpstreamBadRequest, None),
}


@pytest.mark.parametrize(
    ("fault", "error", "retry_after"), STATUS_CASES.values(), ids=STATUS_CASES.keys()
)
async def test_error_status_becomes_the_matching_error(
    fake: FakeAnthropic,
    settings: Settings,
    provider: AnthropicProvider,
    fault: Fault,
    error: type[LLMRelayError],
    retry_after: float | None,
) -> None:
    fake.queue(Reply(fault=fault))

    texts, raised = await failure(settings)

    assert texts == []
    assert type(raised) is error
    assert raised.provider == "anthropic"
    assert raised.retry_after == retry_after
    assert f"HTTP {fault.status}" in raised.message


async def test_error_codes_say_what_failed_and_whether_to_retry(
    fake: FakeAnthropic, settings: Settings, provider: AnthropicProvider
) -> None:
    fake.queue(Reply(fault=Fault("status", 401)), Reply(fault=Fault("status", 429)))

    _, auth = await failure(settings)
    _, rate = await failure(settings)

    assert "auth" in auth.code
    assert not auth.retryable
    assert "rate" in rate.code
    assert rate.retryable


MID_STREAM_CASES = {
    "overloaded-error-event": (Fault("in_stream_error", after_chunks=2), UpstreamUnavailable),
    "api-error-event": (Fault("in_stream_error", error_type="api_error"), UpstreamUnavailable),
    "rate-limit-error-event": (
        Fault("in_stream_error", error_type="rate_limit_error"),
        RateLimited,
    ),
    "connection-cut": (Fault("cut", after_chunks=2), UpstreamUnavailable),
    "malformed-json": (Fault("malformed", after_chunks=3), UpstreamUnavailable),
}


@pytest.mark.parametrize(("fault", "error"), MID_STREAM_CASES.values(), ids=MID_STREAM_CASES.keys())
async def test_mid_stream_failure_after_some_text_is_raised_as_retryable(
    fake: FakeAnthropic,
    settings: Settings,
    provider: AnthropicProvider,
    fault: Fault,
    error: type[LLMRelayError],
) -> None:
    reply = Reply(fault=fault)
    fake.queue(reply)

    texts, raised = await failure(settings)

    assert texts == list(reply.pieces[: fault.after_chunks])
    assert type(raised) is error
    assert raised.retryable
    assert raised.provider == "anthropic"


async def test_overloaded_error_on_a_200_stream_reads_the_error_type(
    fake: FakeAnthropic, settings: Settings, provider: AnthropicProvider
) -> None:
    fake.queue(Reply(fault=Fault("in_stream_error", error_type="overloaded_error")))

    _, raised = await failure(settings)

    assert isinstance(raised, UpstreamUnavailable)
    assert raised.code == "upstream_unavailable"
    assert "mid-stream: overloaded_error" in raised.message


TIMEOUT_CASES = {
    "slow-first-byte": Fault("slow_first_byte", delay_s=0.6),
    "stall-mid-stream": Fault("stall", after_chunks=2, delay_s=0.6),
}


@pytest.mark.parametrize("fault", TIMEOUT_CASES.values(), ids=TIMEOUT_CASES.keys())
async def test_silent_upstream_times_out(
    fake: FakeAnthropic, settings: Settings, monkeypatch: pytest.MonkeyPatch, fault: Fault
) -> None:
    use_provider(monkeypatch, AnthropicProvider(read_timeout_s=0.2))
    fake.queue(Reply(fault=fault))

    _, raised = await failure(settings)

    assert type(raised) is UpstreamTimeout
    assert raised.retryable
    assert raised.provider == "anthropic"


LEAKY_KEYS = {
    "key-shaped": "sk-ant-api03-leaky-0123456789abcdef",
    "shapeless": "plain-secret-value-known-only-to-the-store",
}
LEAKY_FAULTS = {
    "401-body": lambda key: Fault("status", 401, message=f"invalid x-api-key: {key}"),
    "429-body": lambda key: Fault("status", 429, message=f"slow down, {key}"),
    "in-stream-error": lambda key: Fault("in_stream_error", message=f"overloaded for {key}"),
}


@pytest.mark.parametrize("key", LEAKY_KEYS.values(), ids=LEAKY_KEYS.keys())
@pytest.mark.parametrize("make_fault", LEAKY_FAULTS.values(), ids=LEAKY_FAULTS.keys())
async def test_key_never_appears_in_an_error_even_when_the_upstream_echoes_it(
    fake: FakeAnthropic, settings: Settings, provider: AnthropicProvider, key: str, make_fault: Any
) -> None:
    fake.queue(Reply(fault=make_fault(key)))

    _, raised = await failure(settings, key=key)

    assert key_of(fake.requests[0]) == key
    for text in (str(raised), raised.message, json.dumps(raised.to_dict()), repr(raised.args)):
        assert key not in text
    assert "[redacted]" in raised.message


class RotatingSecrets:
    """A secret store whose key was rotated: ``refresh`` finds the new one."""

    def __init__(self) -> None:
        self.key = "sk-ant-old-0123456789abcdef"

    def get(self, name: str) -> str | None:
        return self.key if name == "ANTHROPIC_API_KEY" else None

    def refresh(self) -> bool:
        self.key = "sk-ant-new-0123456789abcdef"
        return True


async def test_rejected_key_is_refetched_and_the_call_retried_once(
    fake: FakeAnthropic, settings: Settings, provider: AnthropicProvider
) -> None:
    fake.queue(Reply(fault=Fault("status", 401)), Reply(pieces=("rotated",)))

    events = await collect(settings, secrets=RotatingSecrets())

    assert texts_of(events) == ["rotated"]
    assert [key_of(r) for r in fake.requests] == [
        "sk-ant-old-0123456789abcdef",
        "sk-ant-new-0123456789abcdef",
    ]


class RawAnthropic(FakeAnthropic):
    """Answers 200 with a fixed SSE body, as a broken proxy in front of the API might."""

    def __init__(self, raw: bytes) -> None:
        super().__init__()
        self.raw = raw

    async def answer(
        self, request: Request, body: Any, reply: Reply, response: ResponseWriter
    ) -> None:
        await response.start(200, [("Content-Type", "text/event-stream")])
        await response.write(self.raw)
        await response.end()


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


START = sse(
    "message_start",
    {
        "type": "message_start",
        "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 3, "output_tokens": 1},
        },
    },
)  # fmt: skip
BLOCK = sse(
    "content_block_start",
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
)
DELTA = sse(
    "content_block_delta",
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
)
TRUNCATED = {
    "empty-body": b"",
    "delta-before-message-start": DELTA,
    "ends-before-message-delta": START + BLOCK + DELTA,
}


@pytest.mark.parametrize("raw", TRUNCATED.values(), ids=TRUNCATED.keys())
async def test_stream_that_ends_before_the_answer_is_unavailable(
    provider: AnthropicProvider, raw: bytes
) -> None:
    with RawAnthropic(raw) as server:
        settings = Settings.from_env({"LLMRELAY_ANTHROPIC_BASE_URL": server.url})
        _, raised = await failure(settings)

    assert type(raised) is UpstreamUnavailable
    assert raised.provider == "anthropic"


# --- the fake itself ------------------------------------------------------------------------


async def test_fake_answers_whole_json_when_not_streaming(fake: FakeAnthropic) -> None:
    import anthropic

    stall = Fault("stall", delay_s=0.01)
    fake.queue(
        Reply(pieces=("Whole ", "answer"), input_tokens=4, finish_reason="length", fault=stall)
    )
    async with anthropic.AsyncAnthropic(api_key=KEY, base_url=fake.url, max_retries=0) as client:
        message = await client.messages.create(
            model="claude-sonnet-4-6", max_tokens=10, messages=[{"role": "user", "content": "Hi"}]
        )

    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == "Whole answer"  # type: ignore[union-attr]
    assert (message.stop_reason, message.usage.input_tokens, message.usage.output_tokens) == (
        "max_tokens",
        4,
        2,
    )


WHOLE_FAULTS = {
    "cut": (Fault("cut"), "APIConnectionError"),
    "malformed": (Fault("malformed"), "JSONDecodeError"),
    "overloaded": (Fault("in_stream_error"), "OverloadedError"),
}


@pytest.mark.parametrize(("fault", "raised"), WHOLE_FAULTS.values(), ids=WHOLE_FAULTS.keys())
async def test_fake_fails_whole_answers_as_scripted(
    fake: FakeAnthropic, fault: Fault, raised: str
) -> None:
    import anthropic

    fake.queue(Reply(fault=fault))
    async with anthropic.AsyncAnthropic(api_key=KEY, base_url=fake.url, max_retries=0) as client:
        with pytest.raises(Exception) as caught:  # noqa: PT011 (the class name is checked below)
            await client.messages.create(
                model="claude-sonnet-4-6",
                max_tokens=10,
                messages=[{"role": "user", "content": "Hi"}],
            )

    assert type(caught.value).__name__ == raised


async def test_fake_answers_unknown_routes_with_an_anthropic_error(fake: FakeAnthropic) -> None:
    import anthropic

    async with anthropic.AsyncAnthropic(api_key=KEY, base_url=fake.url, max_retries=0) as client:
        with pytest.raises(anthropic.NotFoundError) as caught:
            await client.models.retrieve("claude-sonnet-4-6")

    assert caught.value.type == "not_found_error"


async def test_importing_llmrelay_does_not_import_the_sdk() -> None:
    code = (
        "import sys, llmrelay, llmrelay.testing, llmrelay.providers.anthropic\n"
        "print('anthropic' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(process.communicate(), 30)
    assert out.decode().strip() == "False"
