from __future__ import annotations

import dataclasses

import pytest

from llmrelay.config import Settings, get_settings
from llmrelay.errors import ConfigurationError


def test_an_empty_environment_gives_the_documented_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.secret_id is None
    assert settings.default_model == "echo/echo"
    assert settings.echo_delay_ms == 0.0
    assert settings.max_content_chars == 10_000
    assert settings.max_messages == 100
    assert settings.max_tokens_ceiling == 4096
    assert settings.secret_max_age_s == 300
    assert dict(settings.contexts) == {}


READS = [
    pytest.param("LLMRELAY_SECRET_ID", "prod/llmrelay", "secret_id", "prod/llmrelay", id="secret"),
    pytest.param(
        "LLMRELAY_DEFAULT_MODEL", "groq/llama", "default_model", "groq/llama", id="default-model"
    ),
    pytest.param("LLMRELAY_ECHO_DELAY_MS", "12.5", "echo_delay_ms", 12.5, id="echo-delay"),
    pytest.param("LLMRELAY_MAX_CONTENT_CHARS", "20", "max_content_chars", 20, id="content"),
    pytest.param("LLMRELAY_MAX_MESSAGES", " 7 ", "max_messages", 7, id="messages-trimmed"),
    pytest.param("LLMRELAY_MAX_TOKENS_CEILING", "64", "max_tokens_ceiling", 64, id="ceiling"),
    pytest.param("LLMRELAY_SECRET_MAX_AGE_S", "0", "secret_max_age_s", 0, id="no-secret-cache"),
    pytest.param(
        "LLMRELAY_UPSTREAM_READ_TIMEOUT_S", "2.5", "upstream_read_timeout_s", 2.5, id="read-timeout"
    ),
    pytest.param(
        "LLMRELAY_UPSTREAM_CONNECT_TIMEOUT_S",
        "1",
        "upstream_connect_timeout_s",
        1.0,
        id="connect-timeout",
    ),
]


@pytest.mark.parametrize(("variable", "raw", "attribute", "expected"), READS)
def test_each_variable_sets_its_setting(
    variable: str, raw: str, attribute: str, expected: object
) -> None:
    assert getattr(Settings.from_env({variable: raw}), attribute) == expected


@pytest.mark.parametrize(
    "variable",
    ["LLMRELAY_SECRET_ID", "LLMRELAY_DEFAULT_MODEL", "LLMRELAY_MAX_MESSAGES", "LLMRELAY_CONTEXTS"],
)
def test_a_blank_variable_counts_as_unset(variable: str) -> None:
    blank = dataclasses.replace(Settings.from_env({variable: "   "}), environ={})
    assert blank == Settings.from_env({})


def test_the_default_model_stays_echo_until_one_is_configured() -> None:
    assert Settings.from_env({"LLMRELAY_SECRET_ID": "s"}).default_model == "echo/echo"


def test_contexts_map_ids_to_system_prompts() -> None:
    raw = '{"work": "You are an assistant for the user\'s Work context", "home": "Be kind."}'
    settings = Settings.from_env({"LLMRELAY_CONTEXTS": raw})
    assert settings.contexts["work"] == "You are an assistant for the user's Work context"
    assert set(settings.contexts) == {"work", "home"}


BROKEN = [
    pytest.param("LLMRELAY_MAX_MESSAGES", "many", id="not-an-integer"),
    pytest.param("LLMRELAY_MAX_CONTENT_CHARS", "1.5", id="fractional-integer"),
    pytest.param("LLMRELAY_MAX_TOKENS_CEILING", "0", id="zero-limit"),
    pytest.param("LLMRELAY_MAX_MESSAGES", "-3", id="negative-limit"),
    pytest.param("LLMRELAY_SECRET_MAX_AGE_S", "-1", id="negative-max-age"),
    pytest.param("LLMRELAY_ECHO_DELAY_MS", "fast", id="delay-not-a-number"),
    pytest.param("LLMRELAY_ECHO_DELAY_MS", "-5", id="negative-delay"),
    pytest.param("LLMRELAY_ECHO_DELAY_MS", "nan", id="nan-delay"),
    pytest.param("LLMRELAY_ECHO_DELAY_MS", "inf", id="infinite-delay"),
    pytest.param("LLMRELAY_CONTEXTS", "{work: x}", id="contexts-not-json"),
    pytest.param("LLMRELAY_CONTEXTS", '["work"]', id="contexts-not-an-object"),
    pytest.param("LLMRELAY_CONTEXTS", '{"work": 1}', id="contexts-prompt-not-a-string"),
    pytest.param("LLMRELAY_CONTEXTS", "null", id="contexts-null-is-not-unset"),
    pytest.param("LLMRELAY_FALLBACKS", "[x", id="fallbacks-not-json"),
    pytest.param("LLMRELAY_FALLBACKS", "null", id="fallbacks-null-is-not-unset"),
]


@pytest.mark.parametrize(("variable", "raw"), BROKEN)
def test_a_bad_value_is_a_configuration_error_naming_the_variable(variable: str, raw: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({variable: raw})
    assert variable in caught.value.message
    assert caught.value.status == 500


@pytest.mark.parametrize(
    ("provider", "raw", "expected"),
    [
        pytest.param("openai", "http://127.0.0.1:9/v1", "http://127.0.0.1:9/v1", id="as-given"),
        pytest.param("groq", "https://proxy.example/v1/", "https://proxy.example/v1/", id="slash"),
        pytest.param("anthropic", "http://127.0.0.1:9", "http://127.0.0.1:9", id="bare-root"),
        pytest.param("huggingface", "  ", None, id="blank-is-unset"),
    ],
)
def test_base_urls_are_read_per_provider_and_passed_unchanged(
    provider: str, raw: str, expected: str | None
) -> None:
    settings = Settings.from_env({f"LLMRELAY_{provider.upper()}_BASE_URL": raw})
    assert settings.base_url(provider) == expected


def test_a_provider_without_a_base_url_variable_has_none() -> None:
    settings = Settings.from_env({"LLMRELAY_OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})
    assert settings.base_url("anthropic") is None


def test_settings_are_read_once_until_the_cache_is_cleared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LLMRELAY_DEFAULT_MODEL", "openai/gpt-4o-mini")
    first = get_settings()
    monkeypatch.setenv("LLMRELAY_DEFAULT_MODEL", "anthropic/claude-sonnet-4-5")
    assert get_settings() is first
    get_settings.cache_clear()
    assert get_settings().default_model == "anthropic/claude-sonnet-4-5"


def test_the_process_environment_is_read_when_none_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LLMRELAY_MAX_MESSAGES", "3")
    assert Settings.from_env().max_messages == 3
