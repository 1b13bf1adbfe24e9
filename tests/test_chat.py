"""``stream_chat``: routing, system prompts, keys from the secret, and key rotation on 401."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from llmrelay import ChatRequest, Finish, TextDelta, stream_chat
from llmrelay.chat import build_call, route
from llmrelay.config import Settings, get_settings
from llmrelay.errors import AuthenticationFailed, InvalidRequest, MissingKey, UnknownModel
from llmrelay.events import StreamEvent
from llmrelay.providers import registry
from llmrelay.providers.base import ProviderCall
from llmrelay.secrets import StaticSecrets, secret_store_for

SecretFactory = Callable[..., Any]


def chat(text: str = "Hello there, world", **fields: Any) -> ChatRequest:
    return ChatRequest.parse({"messages": [{"role": "user", "content": text}], **fields})


async def collect(events: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [event async for event in events]


def text_of(events: list[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    get_settings.cache_clear()
    return monkeypatch


async def test_with_no_secret_and_no_model_the_echo_provider_answers() -> None:
    request = chat("Hello there, world")
    assert route(request).model_id == "echo/echo"
    events = await collect(stream_chat(request))
    assert text_of(events) == "Hello there, world"
    assert isinstance(events[-1], Finish)
    assert events[-1].reason == "stop"
    assert sum(isinstance(e, Finish) for e in events) == 1


async def test_echo_never_reads_the_secret(env: pytest.MonkeyPatch) -> None:
    # The secret does not exist (and no AWS is reachable): echo must not need it.
    env.setenv("LLMRELAY_SECRET_ID", "llmrelay/does-not-exist")
    events = await collect(stream_chat(chat("still here")))
    assert text_of(events) == "still here"


@pytest.mark.parametrize(
    ("default", "model_id"),
    [
        pytest.param("openai/gpt-4o-mini", "openai/gpt-4o-mini", id="openai"),
        pytest.param("echo/parrot", "echo/parrot", id="echo-other-name"),
        pytest.param(
            "huggingface/meta-llama/Llama-3.1-8B-Instruct",
            "huggingface/meta-llama/Llama-3.1-8B-Instruct",
            id="slash-in-model",
        ),
    ],
)
def test_the_default_model_comes_from_the_environment(
    env: pytest.MonkeyPatch, default: str, model_id: str
) -> None:
    env.setenv("LLMRELAY_DEFAULT_MODEL", default)
    assert route(chat()).model_id == model_id


def test_the_request_model_wins_over_the_default(env: pytest.MonkeyPatch) -> None:
    env.setenv("LLMRELAY_DEFAULT_MODEL", "openai/gpt-4o-mini")
    assert route(chat(model="groq/llama-3.1-8b-instant")).model_id == "groq/llama-3.1-8b-instant"


async def test_an_unknown_default_model_fails_the_stream(env: pytest.MonkeyPatch) -> None:
    env.setenv("LLMRELAY_DEFAULT_MODEL", "nowhere/model")
    with pytest.raises(UnknownModel):
        await collect(stream_chat(chat()))


async def test_a_provider_key_missing_from_the_secret_is_a_missing_key(
    moto_secret: SecretFactory,
) -> None:
    moto_secret({"ANTHROPIC_API_KEY": "sk-ant-api03-unrelated-0001"})
    with pytest.raises(MissingKey) as caught:
        await collect(stream_chat(chat(model="openai/gpt-4o-mini")))
    assert "OPENAI_API_KEY" in caught.value.message
    assert "unrelated" not in str(caught.value.to_dict())


async def test_with_no_secret_configured_a_keyed_provider_is_a_missing_key() -> None:
    with pytest.raises(MissingKey, match="GROQ_API_KEY"):
        await collect(stream_chat(chat(model="groq/llama-3.1-8b-instant")))


def test_the_key_and_default_base_url_reach_the_call(moto_secret: SecretFactory) -> None:
    moto_secret({"HF_TOKEN": "hf_fromthesecret01"})
    settings = get_settings()
    request = chat(model="huggingface/meta-llama/Llama-3.1-8B-Instruct", max_tokens=9, user="u1")
    call = build_call(request, route(request), secret_store_for(settings.secret_id), settings)
    assert call.provider == "huggingface"
    assert call.model == "meta-llama/Llama-3.1-8B-Instruct"
    assert call.api_key == "hf_fromthesecret01"
    assert call.base_url == "https://router.huggingface.co/v1"
    assert (call.max_tokens, call.user) == (9, "u1")


def test_a_base_url_from_the_environment_is_passed_unchanged(env: pytest.MonkeyPatch) -> None:
    env.setenv("LLMRELAY_OPENAI_BASE_URL", "http://127.0.0.1:8099/v1/")
    settings = get_settings()
    request = chat(model="openai/gpt-4o-mini")
    call = build_call(request, route(request), StaticSecrets({"OPENAI_API_KEY": "k-1"}), settings)
    assert call.base_url == "http://127.0.0.1:8099/v1/"


async def test_compat_without_a_base_url_says_which_variable_to_set() -> None:
    with pytest.raises(MissingKey) as caught:
        await collect(stream_chat(chat(model="compat/qwen2.5")))
    assert "LLMRELAY_COMPAT_BASE_URL" in caught.value.message


def test_compat_with_a_base_url_needs_no_key(env: pytest.MonkeyPatch) -> None:
    env.setenv("LLMRELAY_COMPAT_BASE_URL", "http://127.0.0.1:11434/v1")
    settings = get_settings()
    request = chat(model="compat/qwen2.5")
    call = build_call(request, route(request), StaticSecrets(), settings)
    assert (call.base_url, call.api_key, call.model) == (
        "http://127.0.0.1:11434/v1",
        None,
        "qwen2.5",
    )


def contexts(**prompts: str) -> Settings:
    return Settings.from_env({"LLMRELAY_CONTEXTS": json.dumps(prompts)})


def test_a_context_id_selects_its_system_prompt() -> None:
    settings = contexts(work="You are an assistant for the user's Work context", home="Relax.")
    request = chat(context_id="work")
    call = build_call(request, route(request, settings), StaticSecrets(), settings)
    assert call.system == "You are an assistant for the user's Work context"


def test_system_messages_follow_the_context_prompt_and_leave_the_turns() -> None:
    settings = contexts(work="Work context.")
    request = ChatRequest.parse(
        {
            "context_id": "work",
            "messages": [
                {"role": "system", "content": "Answer in French."},
                {"role": "user", "content": "Hi"},
                {"role": "system", "content": "Be brief."},
                {"role": "assistant", "content": "Salut"},
                {"role": "user", "content": "Ça va?"},
            ],
        }
    )
    call = build_call(request, route(request, settings), StaticSecrets(), settings)
    assert call.system == "Work context.\n\nAnswer in French.\n\nBe brief."
    assert [(m.role, m.content) for m in call.messages] == [
        ("user", "Hi"),
        ("assistant", "Salut"),
        ("user", "Ça va?"),
    ]


def test_without_context_or_system_messages_there_is_no_system_prompt() -> None:
    settings = contexts(work="Work context.")
    request = chat()
    assert build_call(request, route(request, settings), StaticSecrets(), settings).system is None


async def test_the_context_prompt_reaches_the_provider(env: pytest.MonkeyPatch) -> None:
    env.setenv("LLMRELAY_CONTEXTS", '{"work": "four words of context"}')
    events = await collect(stream_chat(chat("two words", context_id="work")))
    finish = events[-1]
    assert isinstance(finish, Finish)
    assert finish.usage.input_tokens == 6  # echo counts prompt words, system included


async def test_an_unknown_context_id_is_an_invalid_request(env: pytest.MonkeyPatch) -> None:
    env.setenv("LLMRELAY_CONTEXTS", '{"work": "Work context."}')
    with pytest.raises(InvalidRequest) as caught:
        await collect(stream_chat(chat(context_id="play")))
    assert caught.value.message.startswith("context_id: ")


async def test_a_bad_context_id_is_reported_before_a_missing_key() -> None:
    # The client's mistake first, and no secret is read for a request that cannot run.
    with pytest.raises(InvalidRequest, match="context_id"):
        await collect(stream_chat(chat(model="openai/gpt-4o-mini", context_id="nope")))


class RotatingProvider:
    """A provider whose upstream accepts only ``valid_key``; ``before_401`` runs when it
    rejects one (to rotate the secret, as an operator would, at the worst moment)."""

    def __init__(self, valid_key: str, before_401: Callable[[], None] = lambda: None) -> None:
        self.valid_key = valid_key
        self.before_401 = before_401
        self.keys: list[str | None] = []
        self.fail_after_text = False

    async def stream(self, call: ProviderCall) -> AsyncIterator[StreamEvent]:
        self.keys.append(call.api_key)
        if self.fail_after_text:
            yield TextDelta("partial")
        if call.api_key != self.valid_key:
            self.before_401()
            raise AuthenticationFailed("401 from upstream", provider=call.provider)
        yield TextDelta("ok")
        yield Finish()


@pytest.fixture
def rotating(monkeypatch: pytest.MonkeyPatch) -> Callable[..., RotatingProvider]:
    def install(valid_key: str, before_401: Callable[[], None] = lambda: None) -> RotatingProvider:
        provider = RotatingProvider(valid_key, before_401)
        monkeypatch.setitem(registry._loaded, "openai", provider)
        return provider

    return install


async def test_a_rotated_key_is_refetched_and_the_call_retried_once(
    moto_secret: SecretFactory, rotating: Callable[..., RotatingProvider]
) -> None:
    secret = moto_secret({"OPENAI_API_KEY": "sk-old-0000000001"})
    provider = rotating(
        "sk-new-0000000002", lambda: secret.put({"OPENAI_API_KEY": "sk-new-0000000002"})
    )
    events = await collect(stream_chat(chat(model="openai/gpt-4o-mini")))
    assert text_of(events) == "ok"
    assert provider.keys == ["sk-old-0000000001", "sk-new-0000000002"]


async def test_an_unchanged_key_is_not_retried(
    moto_secret: SecretFactory, rotating: Callable[..., RotatingProvider]
) -> None:
    moto_secret({"OPENAI_API_KEY": "sk-old-0000000001"})
    provider = rotating("sk-never-0000000009")
    with pytest.raises(AuthenticationFailed):
        await collect(stream_chat(chat(model="openai/gpt-4o-mini")))
    assert provider.keys == ["sk-old-0000000001"]


async def test_a_401_after_text_is_raised_without_retry(
    moto_secret: SecretFactory, rotating: Callable[..., RotatingProvider]
) -> None:
    secret = moto_secret({"OPENAI_API_KEY": "sk-old-0000000001"})
    provider = rotating(
        "sk-new-0000000002", lambda: secret.put({"OPENAI_API_KEY": "sk-new-0000000002"})
    )
    provider.fail_after_text = True
    with pytest.raises(AuthenticationFailed):
        await collect(stream_chat(chat(model="openai/gpt-4o-mini")))
    assert provider.keys == ["sk-old-0000000001"]


async def test_a_key_already_refreshed_by_another_request_is_still_used(
    moto_secret: SecretFactory, rotating: Callable[..., RotatingProvider]
) -> None:
    secret = moto_secret({"OPENAI_API_KEY": "sk-old-0000000001"})
    store = secret_store_for(get_settings().secret_id, get_settings().secret_max_age_s)

    def rotate_and_refresh_elsewhere() -> None:
        secret.put({"OPENAI_API_KEY": "sk-new-0000000002"})
        store.refresh()  # a concurrent request got its 401 first and refreshed the shared store

    provider = rotating("sk-new-0000000002", rotate_and_refresh_elsewhere)
    events = await collect(stream_chat(chat(model="openai/gpt-4o-mini")))
    assert text_of(events) == "ok"
    assert provider.keys == ["sk-old-0000000001", "sk-new-0000000002"]


async def test_a_secret_gone_at_refresh_leaves_the_401(
    moto_secret: SecretFactory, rotating: Callable[..., RotatingProvider]
) -> None:
    secret = moto_secret({"OPENAI_API_KEY": "sk-old-0000000001"})
    provider = rotating("sk-new-0000000002", secret.delete)
    with pytest.raises(AuthenticationFailed):
        await collect(stream_chat(chat(model="openai/gpt-4o-mini")))
    assert provider.keys == ["sk-old-0000000001"]


async def test_explicit_settings_and_store_override_the_environment(
    rotating: Callable[..., RotatingProvider],
) -> None:
    provider = rotating("k-explicit")
    settings = Settings.from_env({"LLMRELAY_DEFAULT_MODEL": "openai/gpt-4o-mini"})
    store = StaticSecrets({"OPENAI_API_KEY": "k-explicit"})
    events = await collect(stream_chat(chat(), settings=settings, secrets=store))
    assert text_of(events) == "ok"
    assert provider.keys == ["k-explicit"]
