"""Provider keys without AWS: each provider reads the environment variable its own SDK uses
when the secret (or the store passed in code) has no key, through the real SDKs against
loopback fakes; keys from the environment are redacted like the secret's."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from tests.helpers.outcome import Drained

from llmrelay import ChatRequest, Finish, StaticSecrets, StreamEvent, stream_chat
from llmrelay.config import Settings, get_settings
from llmrelay.errors import MissingKey
from llmrelay.gateway.models_route import model_ids
from llmrelay.keys import provider_key
from llmrelay.providers.registry import PROVIDERS
from llmrelay.redact import redact
from llmrelay.secrets import SecretStore, secret_store_for
from llmrelay.testing import FakeAnthropic, FakeHuggingFace, FakeOpenAI, FakeUpstream
from llmrelay.testing.anthropic_fake import key_of

SecretFactory = Callable[..., Any]

# (model, the variable its SDK reads, the fake, how the model's base URL points at it)
SDKS = [
    pytest.param("openai/gpt-4o-mini", "OPENAI_API_KEY", FakeOpenAI, "/v1", id="openai"),
    pytest.param(
        "anthropic/claude-haiku-4-5", "ANTHROPIC_API_KEY", FakeAnthropic, "", id="anthropic"
    ),
    pytest.param(
        "huggingface/meta-llama/Llama-3.1-8B-Instruct", "HF_TOKEN", FakeHuggingFace, "/v1", id="hf"
    ),
    pytest.param("groq/llama-3.1-8b-instant", "GROQ_API_KEY", FakeOpenAI, "/v1", id="groq-preset"),
]


def chat(model: str) -> ChatRequest:
    return ChatRequest.parse({"model": model, "messages": [{"role": "user", "content": "Hi"}]})


@contextmanager
def upstream(fake_type: type[FakeUpstream], suffix: str, model: str) -> Iterator[tuple[Any, str]]:
    """The fake running, and the ``LLMRELAY_<PROVIDER>_BASE_URL`` setting that reaches it."""
    with fake_type() as fake:
        provider = model.partition("/")[0].upper()
        yield fake, f"LLMRELAY_{provider}_BASE_URL={fake.url}{suffix}"


def settings_with(*pairs: str) -> Settings:
    return Settings.from_env(dict(pair.split("=", 1) for pair in pairs))


async def drain(request: ChatRequest, settings: Settings, secrets: SecretStore) -> Drained[Any]:
    events = stream_chat(request, settings=settings, secrets=secrets)
    return await Drained[StreamEvent].drain(events)


@pytest.mark.parametrize(("model", "variable", "fake_type", "suffix"), SDKS)
async def test_without_a_secret_the_sdk_variable_is_the_key(
    model: str, variable: str, fake_type: type[FakeUpstream], suffix: str
) -> None:
    with upstream(fake_type, suffix, model) as (fake, base_url):
        settings = settings_with(base_url, f"{variable}=envkey-{variable}-0001")
        outcome = await drain(chat(model), settings, secret_store_for(None))
    assert outcome.error is None
    assert isinstance(outcome.events[-1], Finish)
    assert [key_of(request) for request in fake.requests] == [f"envkey-{variable}-0001"]


@pytest.mark.parametrize(("model", "variable", "fake_type", "suffix"), SDKS[:2])
async def test_the_secret_comes_before_the_environment(
    moto_secret: SecretFactory,
    monkeypatch: pytest.MonkeyPatch,
    model: str,
    variable: str,
    fake_type: type[FakeUpstream],
    suffix: str,
) -> None:
    moto_secret({variable: "fromthesecret-0001"})
    with upstream(fake_type, suffix, model) as (fake, base_url):
        name, _, value = base_url.partition("=")
        monkeypatch.setenv(name, value)
        monkeypatch.setenv(variable, "fromtheenvironment-0001")
        get_settings.cache_clear()
        outcome = await Drained[StreamEvent].drain(stream_chat(chat(model)))
    assert outcome.error is None
    assert [key_of(request) for request in fake.requests] == ["fromthesecret-0001"]


async def test_keys_passed_in_code_come_before_the_environment() -> None:
    with FakeOpenAI() as fake:
        settings = settings_with(f"LLMRELAY_OPENAI_BASE_URL={fake.url}/v1", "OPENAI_API_KEY=env-1")
        secrets = StaticSecrets({"OPENAI_API_KEY": "incode-0001"})
        outcome = await drain(chat("openai/gpt-4o-mini"), settings, secrets)
    assert outcome.error is None
    assert [key_of(request) for request in fake.requests] == ["incode-0001"]


@pytest.mark.parametrize("value", ["", "   "], ids=["empty", "blank"])
async def test_an_empty_variable_is_no_key(value: str) -> None:
    settings = settings_with(f"ANTHROPIC_API_KEY={value}")
    outcome = await drain(chat("anthropic/claude-haiku-4-5"), settings, StaticSecrets())
    assert isinstance(outcome.error, MissingKey)
    assert "ANTHROPIC_API_KEY" in outcome.error.message
    assert "environment" in outcome.error.message


def test_every_keyed_provider_reads_its_own_variable() -> None:
    keyed = {name: spec.key_name for name, spec in PROVIDERS.items() if spec.key_name}
    settings = Settings.from_env({variable: f"k-{name}-0001" for name, variable in keyed.items()})
    assert {
        name: provider_key(variable, StaticSecrets(), settings) for name, variable in keyed.items()
    } == {name: f"k-{name}-0001" for name in keyed}


def test_a_key_from_the_environment_is_redacted_once_read() -> None:
    key = "plainkey-without-a-known-shape-4711"  # no sk-/hf_ shape: only registration hides it
    settings = settings_with(f"MISTRAL_API_KEY={key}")
    assert provider_key("MISTRAL_API_KEY", StaticSecrets(), settings) == key
    assert redact(f"upstream said: bad key {key}!") == "upstream said: bad key [redacted]!"


def test_an_unrelated_variable_is_never_read_as_a_key() -> None:
    settings = settings_with("PATH=/usr/bin")
    assert provider_key("OPENAI_API_KEY", StaticSecrets(), settings) is None


def test_models_lists_providers_keyed_from_the_environment() -> None:
    settings = settings_with("GROQ_API_KEY=gsk-env-00000001")
    assert model_ids(StaticSecrets(), settings) == ["echo/echo", "groq/*"]
