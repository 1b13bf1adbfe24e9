from __future__ import annotations

import pickle

import pytest

from llmrelay import errors
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
    UnsupportedParameter,
    UpstreamBadRequest,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from llmrelay.redact import register_secret

# The codes are a contract with clients (they travel in every error body): pinned here.
CONTRACT = [
    (LLMRelayError, "internal_error", 500, False),
    (ConfigurationError, "configuration_error", 500, False),
    (InvalidRequest, "invalid_request", 400, False),
    (UnknownModel, "unknown_model", 400, False),
    (UnsupportedParameter, "unsupported_parameter", 400, False),
    (MissingKey, "missing_key", 503, False),
    (AuthenticationFailed, "upstream_auth_failed", 502, False),
    (RateLimited, "rate_limited", 429, True),
    (UpstreamTimeout, "upstream_timeout", 504, True),
    (UpstreamUnavailable, "upstream_unavailable", 502, True),
    (UpstreamBadRequest, "upstream_bad_request", 400, False),
    (ContentFiltered, "content_filtered", 422, False),
    (DeadlineExceeded, "deadline_exceeded", 504, True),
]


@pytest.mark.parametrize(
    ("cls", "code", "status", "retryable"), CONTRACT, ids=[row[0].__name__ for row in CONTRACT]
)
def test_each_error_has_a_stable_code_status_and_retryability(
    cls: type[LLMRelayError], code: str, status: int, retryable: bool
) -> None:
    error = cls("something went wrong")
    assert (error.code, error.status, error.retryable) == (code, status, retryable)
    assert isinstance(error, LLMRelayError)


def test_every_exported_error_is_in_the_contract_table() -> None:
    exported = {getattr(errors, name) for name in errors.__all__}
    assert exported == {row[0] for row in CONTRACT}


def test_codes_are_unique() -> None:
    codes = [row[1] for row in CONTRACT]
    assert len(codes) == len(set(codes))


def test_authentication_code_names_auth_and_is_final() -> None:
    error = AuthenticationFailed("key rejected", provider="openai")
    assert "auth" in error.code
    assert error.retryable is False
    assert error.provider == "openai"


def test_rate_limit_code_names_rate_and_carries_retry_after() -> None:
    error = RateLimited("slow down", retry_after=2.5)
    assert "rate" in error.code
    assert error.retryable is True
    assert error.retry_after == 2.5
    assert error.to_dict() == {
        "code": "rate_limited",
        "message": "slow down",
        "retryable": True,
        "retry_after": 2.5,
    }


def test_client_shape_leaves_out_an_absent_retry_after() -> None:
    assert UpstreamTimeout("no answer").to_dict() == {
        "code": "upstream_timeout",
        "message": "no answer",
        "retryable": True,
    }


def test_str_reads_code_then_message() -> None:
    assert str(UnknownModel("no such provider 'x'")) == "unknown_model: no such provider 'x'"


def test_upstream_error_is_the_unavailable_error() -> None:
    assert UpstreamError is UpstreamUnavailable


def test_configuration_error_is_not_a_value_error() -> None:
    # pydantic turns ValueErrors raised inside validators into client validation errors.
    assert not isinstance(ConfigurationError("bad env"), ValueError)


@pytest.mark.parametrize(
    "leaked",
    [
        pytest.param("sk-proj-AbCdEf0123456789xyz", id="openai-key-shape"),
        pytest.param("sk-ant-api03-AbCdEf0123456789", id="anthropic-key-shape"),
        pytest.param("Bearer abcdefgh12345678", id="bearer-header"),
        pytest.param("registered-plain-value-7781", id="registered-secret-value"),
    ],
)
def test_a_key_inside_a_message_never_reaches_str_args_or_client_shape(leaked: str) -> None:
    register_secret(["registered-plain-value-7781"])
    error = AuthenticationFailed(f"upstream said: invalid key {leaked} (check it)")
    assert leaked not in str(error)
    assert leaked not in repr(error)
    assert leaked not in str(error.to_dict())
    assert all(leaked not in str(arg) for arg in error.args)
    assert "upstream said: invalid key" in error.message
    assert "[redacted]" in error.message


def test_errors_survive_pickling_with_their_attributes() -> None:
    # Errors cross process boundaries (the local emulator's workers).
    error = RateLimited("slow down", provider="groq", retry_after=3.0)
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own bytes)
    assert type(copy) is RateLimited
    assert (copy.message, copy.provider, copy.retry_after) == ("slow down", "groq", 3.0)
