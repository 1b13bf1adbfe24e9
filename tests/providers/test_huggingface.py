"""The Hugging Face provider, driven through ``stream_chat`` and the real ``huggingface_hub``
``AsyncInferenceClient`` against a fake router on loopback (OpenAI-style chunks, TGI errors)."""

from __future__ import annotations

from typing import Any

import pytest

from llmrelay import ChatRequest, Finish, Usage
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
from llmrelay.providers import registry
from llmrelay.providers.huggingface import HuggingFaceProvider
from llmrelay.secrets import StaticSecrets
from llmrelay.testing import FakeHuggingFace, FakeOpenAI, Fault, Reply
from llmrelay.testing.openai_fake import bearer_of

from .conftest import (
    READ_TIMEOUT_S,
    RotatingSecrets,
    Run,
    assert_failed_as,
    assert_scrubbed,
)

pytestmark = pytest.mark.usefixtures("short_timeouts")

MODEL = "huggingface/meta-llama/Llama-3.1-8B-Instruct"
TOKEN = "hf_test0123456789abcdefABCDEF"


def secrets(token: str = TOKEN) -> StaticSecrets:
    return StaticSecrets({"HF_TOKEN": token})


def chat(text: str = "Hi", **fields: Any) -> ChatRequest:
    messages = fields.pop("messages", [{"role": "user", "content": text}])
    return ChatRequest.parse({"model": MODEL, "messages": messages, **fields})


def settings_for(base_url: str) -> Settings:
    return Settings.from_env({"LLMRELAY_HUGGINGFACE_BASE_URL": base_url})


@pytest.fixture
def settings(fake_hf: FakeHuggingFace) -> Settings:
    return settings_for(f"{fake_hf.url}/v1")


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> HuggingFaceProvider:
    """A fresh provider for this test, so its client cache starts empty."""
    instance = HuggingFaceProvider()
    monkeypatch.setitem(registry._loaded, "huggingface", instance)
    return instance


# --- the answer and the request --------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(Reply(pieces=("Hello", ", ", "world", "!")), id="ascii"),
        pytest.param(
            Reply(pieces=("Grüße ", "из ", "東京 ", "🙂🎉"), split_writes=True),
            id="multi-byte-characters-split-across-reads",
        ),
        pytest.param(Reply(pieces=("é",) * 4, split_writes=True), id="every-event-cut-mid-char"),
        pytest.param(Reply(pieces=("a\n\nb", "", "c"), output_tokens=2), id="blank-lines-inside"),
    ],
)
async def test_text_arrives_exactly_with_usage(
    reply: Reply, fake_hf: FakeHuggingFace, settings: Settings, run: Run
) -> None:
    fake_hf.queue(reply)
    outcome = await run(chat(), settings, secrets())
    assert outcome.deltas == [piece for piece in reply.pieces if piece]
    usage = Usage(input_tokens=reply.input_tokens, output_tokens=reply.completion_tokens)
    assert outcome.finish == Finish(reason="stop", usage=usage)


@pytest.mark.parametrize(
    ("upstream", "expected"),
    [
        pytest.param("stop", "stop", id="stop"),
        pytest.param("eos_token", "stop", id="tgi-eos-token"),
        pytest.param("length", "length", id="length"),
        pytest.param("content_filter", "content_filter", id="content-filter"),
    ],
)
async def test_finish_reason_is_mapped(
    upstream: str, expected: str, fake_hf: FakeHuggingFace, settings: Settings, run: Run
) -> None:
    fake_hf.queue(Reply(finish_reason=upstream))
    assert (await run(chat(), settings, secrets())).finish.reason == expected


async def test_request_sends_the_model_after_the_first_slash_and_the_system_prompt_first(
    fake_hf: FakeHuggingFace, settings: Settings, run: Run
) -> None:
    messages = [
        {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Salut"},
        {"role": "user", "content": "Again"},
    ]
    request = chat(messages=messages, temperature=0.5, max_tokens=64)
    await run(request, settings, secrets())
    [sent] = fake_hf.requests
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert bearer_of(sent) == TOKEN
    body = sent.body
    assert body["model"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert (body["temperature"], body["max_tokens"]) == (0.5, 64)
    assert body["messages"] == [
        {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Salut"},
        {"role": "user", "content": "Again"},
    ]


async def test_optional_fields_are_absent_when_unset(
    fake_hf: FakeHuggingFace, settings: Settings, run: Run
) -> None:
    await run(chat(), settings, secrets())
    body = fake_hf.requests[0].body
    assert not {"temperature", "max_tokens"} & body.keys()
    assert body["messages"] == [{"role": "user", "content": "Hi"}]


@pytest.mark.parametrize(
    ("suffix", "path"),
    [
        pytest.param("/v1", "/v1/chat/completions", id="router-style-v1"),
        pytest.param("", "/v1/chat/completions", id="bare-root-gets-v1"),
        pytest.param("/endpoint/v1/", "/endpoint/v1/chat/completions", id="endpoint-prefix"),
    ],
)
async def test_base_url_is_passed_to_the_sdk_unchanged(
    suffix: str, path: str, fake_hf: FakeHuggingFace, run: Run
) -> None:
    outcome = await run(chat(), settings_for(fake_hf.url + suffix), secrets())
    assert outcome.text == "Hello, world!"
    assert fake_hf.requests[0].path == path


async def test_connection_pool_is_reused_and_each_calls_response_released(
    fake_hf: FakeHuggingFace, settings: Settings, run: Run, provider: HuggingFaceProvider
) -> None:
    fake_hf.queue(Reply(), Reply(fault=Fault("cut", after_chunks=1)), Reply())
    outcomes = [await run(chat(), settings, secrets()) for _ in range(3)]
    assert [o.error is None for o in outcomes] == [True, False, True]
    assert len(provider.clients) == 1
    await run(chat(), settings, secrets(TOKEN + "x"))
    assert len(provider.clients) == 2


# --- failures --------------------------------------------------------------------------------


def _param(
    fault: Fault, error: type[LLMRelayError], id: str, retry_after: float | None = None
) -> Any:
    return pytest.param(fault, error, retry_after, id=id)


FAULTS = [
    _param(Fault("status", status=401), AuthenticationFailed, "401-is-auth"),
    _param(Fault("status", status=403), AuthenticationFailed, "403-is-auth"),
    _param(Fault("status", status=429, retry_after="12"), RateLimited, "429-retry-after", 12.0),
    _param(Fault("status", status=408), UpstreamTimeout, "408-is-timeout"),
    _param(Fault("status", status=400), UpstreamBadRequest, "400-bad-request"),
    _param(Fault("status", status=404), UpstreamBadRequest, "404-unknown-model"),
    _param(Fault("status", status=422), UpstreamBadRequest, "422-validation"),
    _param(
        Fault("status", status=400, error_type="content_filter"),
        ContentFiltered,
        "400-content-filter",
    ),
    _param(Fault("status", status=500), UpstreamUnavailable, "500"),
    _param(Fault("status", status=503, retry_after="3"), UpstreamUnavailable, "503-loading", 3.0),
    _param(
        Fault("slow_first_byte", delay_s=READ_TIMEOUT_S * 4), UpstreamTimeout, "slow-first-byte"
    ),
    _param(Fault("stall", delay_s=READ_TIMEOUT_S * 4), UpstreamTimeout, "stall-mid-stream"),
    _param(Fault("cut", after_chunks=2), UpstreamUnavailable, "connection-cut-mid-stream"),
    _param(Fault("malformed"), UpstreamUnavailable, "malformed-chunk"),
    _param(Fault("in_stream_error"), UpstreamUnavailable, "in-stream-error"),
    _param(
        Fault("in_stream_error", error_type="overloaded"), UpstreamUnavailable, "tgi-overloaded"
    ),
    _param(Fault("in_stream_error", error_type="validation"), UpstreamBadRequest, "tgi-validation"),
]


@pytest.mark.parametrize(("fault", "error", "retry_after"), FAULTS)
async def test_each_upstream_failure_becomes_the_matching_error(
    fault: Fault,
    error: type[LLMRelayError],
    retry_after: float | None,
    fake_hf: FakeHuggingFace,
    settings: Settings,
    run: Run,
) -> None:
    fake_hf.queue(Reply(fault=fault))
    outcome = await run(chat(), settings, secrets())
    assert_failed_as(outcome, error, "huggingface", retry_after)


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        pytest.param(Fault("in_stream_error"), UpstreamUnavailable, id="server-error"),
        pytest.param(
            Fault("in_stream_error", error_type="rate_limit_exceeded"),
            RateLimited,
            id="rate-limit",
        ),
        pytest.param(
            Fault("in_stream_error", error_type="content_filter"),
            ContentFiltered,
            id="content-filter",
        ),
    ],
)
async def test_openai_shaped_errors_from_a_routed_provider_are_read_too(
    fault: Fault, error: type[LLMRelayError], run: Run
) -> None:
    with FakeOpenAI() as fake:
        fake.queue(Reply(fault=fault))
        outcome = await run(chat(), settings_for(f"{fake.url}/v1"), secrets())
    assert type(outcome.error) is error, outcome.error
    assert outcome.deltas == ["Hello"]
    assert outcome.error.message == "huggingface failed mid-answer: scripted failure"


async def test_error_message_quotes_the_upstream_message_not_its_body(
    fake_hf: FakeHuggingFace, settings: Settings, run: Run
) -> None:
    fake_hf.queue(Reply(fault=Fault("status", status=404, message="Model not supported")))
    outcome = await run(chat(), settings, secrets())
    assert outcome.error is not None
    assert outcome.error.message == "huggingface answered HTTP 404: Model not supported"


class HtmlErrorPages(FakeHuggingFace):
    """A router behind a proxy that answers errors with an HTML page."""

    def error_body(self, fault: Fault) -> str:
        return f"<html><body>{fault.message}</body></html>"


async def test_a_non_json_error_body_is_never_quoted(run: Run) -> None:
    with HtmlErrorPages() as fake:
        fake.queue(Reply(fault=Fault("status", status=502, message="proxy says no")))
        outcome = await run(chat(), settings_for(f"{fake.url}/v1"), secrets())
    assert isinstance(outcome.error, UpstreamUnavailable)
    assert outcome.error.message == "huggingface answered HTTP 502"


@pytest.mark.parametrize(
    ("token", "fault"),
    [
        pytest.param("hf_LEAKME0123456789abcdef", None, id="401-echoes-a-token"),
        pytest.param("plain-looking-token-7777", None, id="401-echoes-a-token-of-any-shape"),
        pytest.param(
            "plain-looking-token-7777",
            Fault("in_stream_error", message="token plain-looking-token-7777 revoked"),
            id="in-stream-error-quotes-the-token",
        ),
    ],
)
async def test_token_never_appears_in_an_error_even_when_the_upstream_echoes_it(
    token: str, fault: Fault | None, run: Run
) -> None:
    with FakeHuggingFace(api_key=None if fault else "hf_theonlyvalidtoken00") as fake:
        fake.queue(Reply(fault=fault))
        outcome = await run(chat(), settings_for(f"{fake.url}/v1"), secrets(token))
    assert_scrubbed(outcome.error, token)


async def test_a_401_refetches_the_token_and_retries_once(run: Run) -> None:
    store = RotatingSecrets("HF_TOKEN", "hf_oldtoken0123456789", "hf_newtoken0123456789")
    with FakeHuggingFace(api_key="hf_newtoken0123456789") as fake:
        outcome = await run(chat(), settings_for(f"{fake.url}/v1"), store)
    assert outcome.text == "Hello, world!"
    assert [bearer_of(r) for r in fake.requests] == [
        "hf_oldtoken0123456789",
        "hf_newtoken0123456789",
    ]
