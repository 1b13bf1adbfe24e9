"""The pure retry policy: backoff with full jitter, ``retry_after``, what is retried and
what falls back; and the settings that configure it."""

from __future__ import annotations

import pytest

from llmrelay.config import Settings
from llmrelay.errors import (
    AuthenticationFailed,
    ConfigurationError,
    ContentFiltered,
    DeadlineExceeded,
    InvalidRequest,
    LLMRelayError,
    MissingKey,
    RateLimited,
    UnknownModel,
    UpstreamBadRequest,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from llmrelay.resilience import Resilience, RetryPolicy, Timeouts, falls_back, is_retryable

POLICY = RetryPolicy(retries=5, base_s=0.1, max_backoff_s=1.0, max_retry_after_s=10.0)


@pytest.mark.parametrize(
    ("retry", "jitter", "wait"),
    [
        pytest.param(0, 1.0, 0.1, id="first-full"),
        pytest.param(0, 0.5, 0.05, id="first-half"),
        pytest.param(1, 1.0, 0.2, id="doubles"),
        pytest.param(3, 1.0, 0.8, id="doubles-again"),
        pytest.param(4, 1.0, 1.0, id="capped"),
        pytest.param(4, 0.25, 0.25, id="capped-then-jittered"),
        pytest.param(4, 0.0, 0.0, id="jitter-can-be-zero"),
        pytest.param(10_000, 1.0, 1.0, id="huge-retry-number"),
    ],
)
def test_backoff_is_exponential_with_full_jitter_under_a_cap(
    retry: int, jitter: float, wait: float
) -> None:
    assert POLICY.backoff(retry, jitter) == pytest.approx(wait)


@pytest.mark.parametrize(
    ("error", "retry", "wait"),
    [
        pytest.param(RateLimited("x", retry_after=3.0), 0, 3.0, id="retry-after-honoured"),
        pytest.param(RateLimited("x", retry_after=0.0), 0, 0.0, id="retry-after-zero"),
        pytest.param(RateLimited("x", retry_after=10.0), 0, 10.0, id="retry-after-at-cap"),
        pytest.param(RateLimited("x", retry_after=10.5), 0, None, id="retry-after-beyond-cap"),
        pytest.param(RateLimited("x"), 1, 0.1, id="429-without-hint"),
        pytest.param(UpstreamUnavailable("x"), 0, 0.05, id="unavailable"),
        pytest.param(UpstreamTimeout("x"), 2, 0.2, id="timeout"),
        pytest.param(UpstreamUnavailable("x"), 5, None, id="retries-spent"),
        pytest.param(DeadlineExceeded("x"), 0, None, id="deadline"),
        pytest.param(AuthenticationFailed("x"), 0, None, id="auth"),
        pytest.param(UpstreamBadRequest("x"), 0, None, id="bad-request"),
        pytest.param(ContentFiltered("x"), 0, None, id="content-filtered"),
        pytest.param(MissingKey("x"), 0, None, id="missing-key"),
        pytest.param(LLMRelayError("x"), 0, None, id="internal"),
    ],
)
def test_the_wait_before_a_retry(error: LLMRelayError, retry: int, wait: float | None) -> None:
    result = POLICY.wait_before_retry(error, retry, jitter=0.5)
    assert result == (None if wait is None else pytest.approx(wait))


def test_no_retries_means_no_retry() -> None:
    assert RetryPolicy(retries=0).wait_before_retry(UpstreamUnavailable("x"), 0, 0.5) is None


FALLBACK = [
    pytest.param(AuthenticationFailed("x"), True, id="auth"),
    pytest.param(MissingKey("x"), True, id="missing-key"),
    pytest.param(RateLimited("x"), True, id="rate-limited"),
    pytest.param(UpstreamTimeout("x"), True, id="timeout"),
    pytest.param(UpstreamUnavailable("x"), True, id="unavailable"),
    pytest.param(InvalidRequest("x"), False, id="invalid-request"),
    pytest.param(UpstreamBadRequest("x"), False, id="bad-request"),
    pytest.param(ContentFiltered("x"), False, id="content-filtered"),
    pytest.param(UnknownModel("x"), False, id="unknown-model"),
    pytest.param(DeadlineExceeded("x"), False, id="deadline"),
    pytest.param(ConfigurationError("x"), False, id="configuration"),
    pytest.param(LLMRelayError("x"), False, id="internal"),
]


@pytest.mark.parametrize(("error", "expected"), FALLBACK)
def test_which_failures_another_model_may_survive(error: LLMRelayError, expected: bool) -> None:
    assert falls_back(error) is expected


def test_the_deadline_is_never_retryable_within_the_request() -> None:
    # Retryable for the client, later; not by llmrelay, now.
    error = DeadlineExceeded("x")
    assert error.retryable
    assert not is_retryable(error)


def test_the_default_settings_give_the_documented_resilience() -> None:
    resilience = Resilience.from_settings(Settings.from_env({}))
    assert resilience == Resilience(
        RetryPolicy(retries=2, base_s=0.25, max_backoff_s=4.0, max_retry_after_s=10.0),
        Timeouts(first_token_s=20.0, idle_s=30.0, total_s=None),
        {},
    )


def test_resilience_reads_its_environment() -> None:
    settings = Settings.from_env(
        {
            "LLMRELAY_RETRY_ATTEMPTS": "0",
            "LLMRELAY_RETRY_BASE_MS": "100",
            "LLMRELAY_RETRY_MAX_BACKOFF_MS": "800",
            "LLMRELAY_RETRY_AFTER_MAX_MS": "2500",
            "LLMRELAY_FIRST_TOKEN_TIMEOUT_MS": "0",
            "LLMRELAY_IDLE_TIMEOUT_MS": "1500",
            "LLMRELAY_TOTAL_TIMEOUT_MS": "45000",
            "LLMRELAY_FALLBACKS": '{"openai/gpt-4o": [" anthropic/claude-haiku-4-5 "], "*": []}',
        }
    )
    assert Resilience.from_settings(settings) == Resilience(
        RetryPolicy(retries=0, base_s=0.1, max_backoff_s=0.8, max_retry_after_s=2.5),
        Timeouts(first_token_s=None, idle_s=1.5, total_s=45.0),
        {"openai/gpt-4o": ("anthropic/claude-haiku-4-5",), "*": ()},
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("LLMRELAY_FALLBACKS", "{not json", id="fallbacks-not-json"),
        pytest.param("LLMRELAY_FALLBACKS", '["openai/gpt-4o"]', id="fallbacks-not-object"),
        pytest.param("LLMRELAY_FALLBACKS", '{"openai/x": "anthropic/y"}', id="chain-not-list"),
        pytest.param("LLMRELAY_FALLBACKS", '{"openai/x": [1]}', id="model-not-string"),
        pytest.param("LLMRELAY_RETRY_ATTEMPTS", "-1", id="negative-retries"),
        pytest.param("LLMRELAY_IDLE_TIMEOUT_MS", "soon", id="timeout-not-int"),
    ],
)
def test_bad_resilience_settings_are_configuration_errors(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({name: value})
