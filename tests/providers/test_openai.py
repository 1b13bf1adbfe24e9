"""The OpenAI provider and its OpenAI-compatible presets, driven through ``stream_chat`` and
the real ``openai`` SDK against a fake Chat Completions API on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from llmrelay import ChatRequest, Finish, TextDelta, Usage
from llmrelay.config import Settings
from llmrelay.errors import (
    AuthenticationFailed,
    ContentFiltered,
    LLMRelayError,
    RateLimited,
    UpstreamBadRequest,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from llmrelay.events import BlockEnd, BlockStart, StreamEvent, TextBlock
from llmrelay.providers import registry
from llmrelay.providers.base import ProviderCall
from llmrelay.providers.openai import OpenAIProvider, events_from_chunks, map_error
from llmrelay.secrets import StaticSecrets
from llmrelay.testing import FakeOpenAI, Fault, Reply
from llmrelay.testing.openai_fake import bearer_of

from .conftest import (
    READ_TIMEOUT_S,
    RotatingSecrets,
    Run,
    assert_failed_as,
    assert_scrubbed,
)

pytestmark = pytest.mark.usefixtures("short_timeouts")

MODEL = "openai/gpt-4o-mini"
KEY = "sk-proj-test-0123456789abcdef"
WORK_PROMPT = "You are an assistant for the user's Work context."
LAYER = Path(__file__).resolve().parents[2] / "layers" / "llmrelay"


def secrets(key: str = KEY, name: str = "OPENAI_API_KEY") -> StaticSecrets:
    return StaticSecrets({name: key})


def chat(text: str = "Hi", model: str = MODEL, **fields: Any) -> ChatRequest:
    messages = fields.pop("messages", [{"role": "user", "content": text}])
    return ChatRequest.parse({"model": model, "messages": messages, **fields})


@pytest.fixture
def settings(fake_openai: FakeOpenAI) -> Settings:
    return Settings.from_env(
        {
            "LLMRELAY_OPENAI_BASE_URL": f"{fake_openai.url}/v1",
            "LLMRELAY_GROQ_BASE_URL": f"{fake_openai.url}/openai/v1",
            "LLMRELAY_CONTEXTS": json.dumps({"work": WORK_PROMPT}),
        }
    )


# --- the answer ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(Reply(pieces=("Hello", ", ", "world", "!")), id="ascii"),
        pytest.param(
            Reply(pieces=("Grüße ", "из ", "東京 ", "🙂🎉"), split_writes=True),
            id="multi-byte-characters-split-across-reads",
        ),
        pytest.param(Reply(pieces=("é",) * 4, split_writes=True), id="every-event-cut-mid-char"),
        pytest.param(
            Reply(pieces=("line\n", 'say "hi"\n\n', "data: [DONE]")),
            id="newlines-quotes-and-a-fake-done-inside-text",
        ),
        pytest.param(Reply(pieces=("one",), input_tokens=3, output_tokens=9), id="usage-as-sent"),
    ],
)
async def test_text_arrives_exactly_piece_by_piece(
    reply: Reply, fake_openai: FakeOpenAI, settings: Settings, run: Run
) -> None:
    fake_openai.queue(reply)
    outcome = await run(chat(), settings, secrets())
    assert outcome.deltas == list(reply.pieces)
    usage = Usage(input_tokens=reply.input_tokens, output_tokens=reply.completion_tokens)
    assert outcome.finish == Finish(reason="stop", usage=usage)


async def test_empty_content_deltas_are_not_events(
    fake_openai: FakeOpenAI, settings: Settings, run: Run
) -> None:
    fake_openai.queue(Reply(pieces=("a", "", "b")))
    outcome = await run(chat(), settings, secrets())
    assert outcome.deltas == ["a", "b"]


@pytest.mark.parametrize(
    ("upstream", "expected"),
    [
        pytest.param("stop", "stop", id="stop"),
        pytest.param("length", "length", id="length"),
        pytest.param("content_filter", "content_filter", id="content-filter-is-a-finish"),
        pytest.param("tool_calls", "tool_calls", id="tool-calls"),
        pytest.param("something_new", "other", id="unknown-reason"),
    ],
)
async def test_finish_reason_is_mapped(
    upstream: str, expected: str, fake_openai: FakeOpenAI, settings: Settings, run: Run
) -> None:
    fake_openai.queue(Reply(finish_reason=upstream))
    outcome = await run(chat(), settings, secrets())
    assert outcome.text == "Hello, world!"
    assert outcome.finish.reason == expected


# --- the request -----------------------------------------------------------------------------


async def test_request_carries_model_key_usage_option_and_system_prompt_first(
    fake_openai: FakeOpenAI, settings: Settings, run: Run
) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Again"},
    ]
    await run(chat(messages=messages, context_id="work"), settings, secrets())
    [sent] = fake_openai.requests
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert bearer_of(sent) == KEY
    assert sent.body["model"] == "gpt-4o-mini"
    assert sent.body["stream"] is True
    assert sent.body["stream_options"] == {"include_usage": True}
    assert sent.body["messages"] == [
        {"role": "system", "content": f"{WORK_PROMPT}\n\nBe brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Again"},
    ]


async def test_without_system_prompt_the_first_message_is_the_users(
    fake_openai: FakeOpenAI, settings: Settings, run: Run
) -> None:
    await run(chat("Hi"), settings, secrets())
    assert fake_openai.requests[0].body["messages"] == [{"role": "user", "content": "Hi"}]


@pytest.mark.parametrize(
    ("model", "key_name", "limit_field"),
    [
        # OpenAI's reasoning models refuse max_tokens; compatible servers know only it.
        pytest.param(MODEL, "OPENAI_API_KEY", "max_completion_tokens", id="openai"),
        pytest.param("groq/llama-3.1-8b-instant", "GROQ_API_KEY", "max_tokens", id="groq"),
    ],
)
async def test_optional_fields_are_sent_when_set(
    model: str,
    key_name: str,
    limit_field: str,
    fake_openai: FakeOpenAI,
    settings: Settings,
    run: Run,
) -> None:
    request = chat(model=model, temperature=0.2, max_tokens=50, user="user-1")
    await run(request, settings, secrets(name=key_name))
    body = fake_openai.requests[0].body
    assert (body["temperature"], body[limit_field], body["user"]) == (0.2, 50, "user-1")
    assert {"max_tokens", "max_completion_tokens"} & body.keys() == {limit_field}


async def test_optional_fields_are_absent_when_unset(
    fake_openai: FakeOpenAI, settings: Settings, run: Run
) -> None:
    await run(chat(), settings, secrets())
    body = fake_openai.requests[0].body
    assert not {"temperature", "max_tokens", "max_completion_tokens", "user"} & body.keys()


@pytest.mark.parametrize(
    ("model", "variable", "prefix", "key_name"),
    [
        pytest.param("groq/llama-3.1-8b-instant", "GROQ", "/openai/v1", "GROQ_API_KEY", id="groq"),
        pytest.param(
            "gemini/gemini-2.5-flash", "GEMINI", "/v1beta/openai/", "GEMINI_API_KEY", id="gemini"
        ),
        pytest.param(
            "mistral/mistral-small-latest", "MISTRAL", "/v1", "MISTRAL_API_KEY", id="mistral"
        ),
        pytest.param("compat/qwen2.5:7b", "COMPAT", "/v1", "COMPAT_API_KEY", id="compat-with-key"),
    ],
)
async def test_preset_streams_from_its_own_base_url(
    model: str, variable: str, prefix: str, key_name: str, fake_openai: FakeOpenAI, run: Run
) -> None:
    settings = Settings.from_env({f"LLMRELAY_{variable}_BASE_URL": fake_openai.url + prefix})
    outcome = await run(chat(model=model), settings, secrets("preset-key-0123", key_name))
    assert outcome.text == "Hello, world!"
    [sent] = fake_openai.requests
    assert sent.path == prefix.rstrip("/") + "/chat/completions"
    assert sent.body["model"] == model.partition("/")[2]
    assert bearer_of(sent) == "preset-key-0123"


async def test_compat_without_a_key_sends_a_placeholder(fake_openai: FakeOpenAI, run: Run) -> None:
    settings = Settings.from_env({"LLMRELAY_COMPAT_BASE_URL": f"{fake_openai.url}/v1"})
    outcome = await run(chat(model="compat/llama3"), settings, StaticSecrets())
    assert outcome.text == "Hello, world!"
    assert bearer_of(fake_openai.requests[0]) == "no-key"


async def test_one_client_per_provider_key_and_base_url_is_reused(
    fake_openai: FakeOpenAI, settings: Settings, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = OpenAIProvider()
    monkeypatch.setitem(registry._loaded, "openai", provider)
    for _ in range(3):
        assert (await run(chat(), settings, secrets())).error is None
    assert len(provider.clients) == 1
    await run(chat(), settings, secrets(KEY + "-rotated"))
    await run(chat(model="groq/llama-3.1-8b-instant"), settings, secrets(name="GROQ_API_KEY"))
    assert len(provider.clients) == 3
    assert len(fake_openai.requests) == 5


# --- failures --------------------------------------------------------------------------------


def _param(
    fault: Fault, error: type[LLMRelayError], id: str, retry_after: float | None = None
) -> Any:
    return pytest.param(fault, error, retry_after, id=id)


FAULTS = [
    _param(Fault("status", status=401), AuthenticationFailed, "401-is-auth"),
    _param(Fault("status", status=403), AuthenticationFailed, "403-is-auth"),
    _param(Fault("status", status=429, retry_after="7"), RateLimited, "429-retry-after", 7.0),
    _param(
        Fault("status", status=429, retry_after="Wed, 21 Oct 2015 07:28:00 GMT"),
        RateLimited,
        "429-retry-after-date-in-the-past",
        0.0,
    ),
    _param(Fault("status", status=429), RateLimited, "429-without-retry-after"),
    _param(Fault("status", status=408), UpstreamTimeout, "408-is-timeout"),
    _param(Fault("status", status=400), UpstreamBadRequest, "400-bad-request"),
    _param(Fault("status", status=404), UpstreamBadRequest, "404-unknown-model"),
    _param(Fault("status", status=413), UpstreamBadRequest, "413-too-large"),
    _param(Fault("status", status=422), UpstreamBadRequest, "422-unprocessable"),
    _param(
        Fault("status", status=400, error_type="content_filter"),
        ContentFiltered,
        "400-content-filter",
    ),
    _param(Fault("status", status=500), UpstreamUnavailable, "500"),
    _param(Fault("status", status=503, retry_after="2"), UpstreamUnavailable, "503", 2.0),
    _param(Fault("status", status=529), UpstreamUnavailable, "529-overloaded"),
    _param(
        Fault("slow_first_byte", delay_s=READ_TIMEOUT_S * 4), UpstreamTimeout, "slow-first-byte"
    ),
    _param(Fault("stall", delay_s=READ_TIMEOUT_S * 4), UpstreamTimeout, "stall-mid-stream"),
    _param(Fault("cut", after_chunks=2), UpstreamUnavailable, "connection-cut-mid-stream"),
    _param(Fault("cut", after_chunks=4), UpstreamUnavailable, "cut-before-finish"),
    _param(Fault("malformed"), UpstreamUnavailable, "malformed-chunk"),
    _param(Fault("in_stream_error"), UpstreamUnavailable, "in-stream-server-error"),
    _param(
        Fault("in_stream_error", error_type="rate_limit_exceeded"),
        RateLimited,
        "in-stream-rate-limit",
    ),
    _param(
        Fault("in_stream_error", error_type="invalid_request_error"),
        UpstreamBadRequest,
        "in-stream-invalid-request",
    ),
    _param(
        Fault("in_stream_error", error_type="content_filter"),
        ContentFiltered,
        "in-stream-content-filter",
    ),
]


@pytest.mark.parametrize(("fault", "error", "retry_after"), FAULTS)
async def test_each_upstream_failure_becomes_the_matching_error(
    fault: Fault,
    error: type[LLMRelayError],
    retry_after: float | None,
    fake_openai: FakeOpenAI,
    settings: Settings,
    run: Run,
) -> None:
    fake_openai.queue(Reply(fault=fault))
    outcome = await run(chat(), settings, secrets())
    assert_failed_as(outcome, error, "openai", retry_after)


@pytest.mark.parametrize(
    ("error", "fragment", "retryable"),
    [
        pytest.param(AuthenticationFailed, "auth", False, id="auth"),
        pytest.param(RateLimited, "rate", True, id="rate"),
        pytest.param(UpstreamTimeout, "timeout", True, id="timeout"),
        pytest.param(UpstreamUnavailable, "unavailable", True, id="unavailable"),
        pytest.param(UpstreamBadRequest, "bad_request", False, id="bad-request"),
    ],
)
def test_error_codes_say_what_failed_and_whether_to_retry(
    error: type[LLMRelayError], fragment: str, retryable: bool
) -> None:
    assert fragment in error.code
    assert error.retryable is retryable


async def test_failure_after_some_text_keeps_the_text_and_raises(
    fake_openai: FakeOpenAI, settings: Settings, run: Run
) -> None:
    fake_openai.queue(Reply(fault=Fault("cut", after_chunks=2)))
    outcome = await run(chat(), settings, secrets())
    assert outcome.deltas == ["Hello", ", "]
    assert isinstance(outcome.error, UpstreamUnavailable)
    assert outcome.error.retryable


async def test_a_slow_first_byte_within_the_timeout_still_answers(
    fake_openai: FakeOpenAI, settings: Settings, run: Run
) -> None:
    fake_openai.queue(Reply(fault=Fault("slow_first_byte", delay_s=READ_TIMEOUT_S / 4)))
    assert (await run(chat(), settings, secrets())).text == "Hello, world!"


async def test_error_message_names_the_provider_and_quotes_the_upstream(
    fake_openai: FakeOpenAI, settings: Settings, run: Run
) -> None:
    fault = Fault("status", status=404, message="The model `gpt-9` does not exist")
    fake_openai.queue(Reply(fault=fault))
    outcome = await run(chat(), settings, secrets())
    assert outcome.error is not None
    assert outcome.error.message == "openai answered HTTP 404: The model `gpt-9` does not exist"


LEAKS = [
    pytest.param("sk-proj-LEAKME0123456789abcdef", None, id="401-echoes-a-key-shaped-key"),
    pytest.param("plain-looking-secret-4242", None, id="401-echoes-a-key-of-any-shape"),
    pytest.param(
        "plain-looking-secret-4242",
        Fault("status", status=429, message="slow down, plain-looking-secret-4242"),
        id="429-body-quotes-the-key",
    ),
    pytest.param(
        "plain-looking-secret-4242",
        Fault("in_stream_error", message="key plain-looking-secret-4242 was revoked"),
        id="in-stream-error-quotes-the-key",
    ),
]


@pytest.mark.parametrize(("key", "fault"), LEAKS)
async def test_key_never_appears_in_an_error_even_when_the_upstream_echoes_it(
    key: str, fault: Fault | None, run: Run
) -> None:
    # Without a fault this fake rejects every key but its own, quoting the one it got.
    with FakeOpenAI(api_key=None if fault else "the-only-valid-key") as fake:
        fake.queue(Reply(fault=fault))
        settings = Settings.from_env({"LLMRELAY_OPENAI_BASE_URL": f"{fake.url}/v1"})
        outcome = await run(chat(), settings, secrets(key))
    assert_scrubbed(outcome.error, key)


class HtmlErrorPages(FakeOpenAI):
    """An upstream behind a proxy that answers errors with an HTML page."""

    def error_body(self, fault: Fault) -> str:
        return f"<html><body>{fault.message}</body></html>"


async def test_a_non_json_error_body_is_never_quoted(run: Run) -> None:
    with HtmlErrorPages() as fake:
        fake.queue(Reply(fault=Fault("status", status=502, message="proxy says no")))
        settings = Settings.from_env({"LLMRELAY_OPENAI_BASE_URL": f"{fake.url}/v1"})
        outcome = await run(chat(), settings, secrets())
    assert isinstance(outcome.error, UpstreamUnavailable)
    assert outcome.error.message == "openai answered HTTP 502"


def test_any_other_sdk_error_is_upstream_unavailable() -> None:
    import openai

    call = ProviderCall(provider="openai", model="m", messages=(), api_key=KEY)
    error = map_error(openai.OpenAIError("something new"), call)
    assert type(error) is UpstreamUnavailable
    assert error.message == "openai client error (OpenAIError)"


# --- key rotation ----------------------------------------------------------------------------


async def test_a_401_refetches_the_secret_and_retries_once_with_the_new_key(run: Run) -> None:
    store = RotatingSecrets("OPENAI_API_KEY", "sk-old-0123456789", "sk-new-0123456789")
    with FakeOpenAI(api_key="sk-new-0123456789") as fake:
        settings = Settings.from_env({"LLMRELAY_OPENAI_BASE_URL": f"{fake.url}/v1"})
        outcome = await run(chat(), settings, store)
    assert outcome.text == "Hello, world!"
    assert [bearer_of(r) for r in fake.requests] == ["sk-old-0123456789", "sk-new-0123456789"]
    assert store.refreshes == 1


async def test_a_401_with_an_unchanged_secret_is_not_retried(run: Run) -> None:
    with FakeOpenAI(api_key="sk-the-right-one-0123") as fake:
        settings = Settings.from_env({"LLMRELAY_OPENAI_BASE_URL": f"{fake.url}/v1"})
        outcome = await run(chat(), settings, secrets("sk-wrong-0123456789"))
    assert isinstance(outcome.error, AuthenticationFailed)
    assert len(fake.requests) == 1


# --- chunks to events (pure) -----------------------------------------------------------------


@dataclass
class _Delta:
    content: str | None


@dataclass
class _Choice:
    delta: _Delta | None
    finish_reason: str | None = None


@dataclass
class _Usage:
    prompt_tokens: int
    completion_tokens: int


@dataclass
class _Chunk:
    choices: Sequence[_Choice]
    usage: _Usage | None = None


async def _events(*chunks: _Chunk) -> list[StreamEvent]:
    async def source() -> AsyncIterator[_Chunk]:
        for chunk in chunks:
            yield chunk

    return [event async for event in events_from_chunks(source(), "compat")]


async def test_usage_on_the_finish_chunk_is_read_as_gemini_and_groq_send_it() -> None:
    events = await _events(
        _Chunk([_Choice(_Delta("Hi"))]),
        _Chunk([_Choice(_Delta(None), "stop")], usage=_Usage(5, 1)),
    )
    text = [BlockStart(0, "text"), TextDelta("Hi"), BlockEnd(0, TextBlock("Hi"))]
    assert events == [*text, Finish("stop", Usage(5, 1))]


async def test_an_upstream_that_ignores_include_usage_reports_zero_usage() -> None:
    events = await _events(_Chunk([_Choice(None)]), _Chunk([_Choice(_Delta("x"), "length")]))
    text = [BlockStart(0, "text"), TextDelta("x"), BlockEnd(0, TextBlock("x"))]
    assert events == [*text, Finish("length", Usage())]


async def test_a_stream_that_ends_without_a_finish_reason_was_cut_short() -> None:
    with pytest.raises(UpstreamUnavailable) as caught:
        await _events(_Chunk([_Choice(_Delta("Hel"))]))
    assert caught.value.provider == "compat"


# --- cold start ------------------------------------------------------------------------------


def test_importing_llmrelay_and_using_echo_imports_no_sdk() -> None:
    script = textwrap.dedent(
        """
        import asyncio, json, sys
        import llmrelay, llmrelay.testing
        import llmrelay.providers.openai, llmrelay.providers.huggingface
        from llmrelay import ChatRequest, stream_chat

        async def main():
            request = ChatRequest.parse({"model": "echo/echo",
                                         "messages": [{"role": "user", "content": "hi there"}]})
            return "".join([getattr(e, "text", "") async for e in stream_chat(request)])

        text = asyncio.run(main())
        sdks = ("openai", "anthropic", "huggingface_hub")
        print(json.dumps([text, sorted(m for m in sdks if m in sys.modules)]))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(LAYER)}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ["hi there", []]
