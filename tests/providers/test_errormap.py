"""Upstream failure facts (status, type, code, headers, bodies) to llmrelay errors."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from llmrelay.errors import (
    AuthenticationFailed,
    ContentFiltered,
    LLMRelayError,
    RateLimited,
    UpstreamBadRequest,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from llmrelay.providers.errormap import (
    error_for_status,
    error_for_type,
    message_from_body,
    parse_retry_after,
    upstream_message,
)

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC).timestamp()


def _http_date(seconds_from_now: float) -> str:
    return format_datetime(datetime.fromtimestamp(NOW + seconds_from_now, UTC), usegmt=True)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({"retry-after": "7"}, 7.0, id="seconds"),
        pytest.param({"Retry-After": "0.5"}, 0.5, id="fractional-any-case"),
        pytest.param({"retry-after-ms": "1500"}, 1.5, id="milliseconds"),
        pytest.param({"retry-after-ms": "250", "retry-after": "9"}, 0.25, id="ms-is-more-precise"),
        pytest.param({"retry-after": _http_date(30)}, 30.0, id="http-date"),
        pytest.param({"retry-after": _http_date(-30)}, 0.0, id="http-date-in-the-past"),
        pytest.param({"retry-after": "-4"}, 0.0, id="negative-is-now"),
        pytest.param({"retry-after": "soon"}, None, id="garbage"),
        pytest.param({"retry-after": "nan"}, None, id="not-a-number"),
        pytest.param({"retry-after": "Wed, 21 Oct 2015 07:28:00"}, None, id="date-without-zone"),
        pytest.param({"x-other": "1"}, None, id="absent"),
        pytest.param({}, None, id="no-headers"),
        pytest.param(None, None, id="none"),
    ],
)
def test_parse_retry_after(headers: dict[str, str] | None, expected: float | None) -> None:
    assert parse_retry_after(headers, now=NOW) == expected


@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param(400, UpstreamBadRequest, id="400"),
        pytest.param(401, AuthenticationFailed, id="401"),
        pytest.param(402, UpstreamBadRequest, id="402-other-4xx"),
        pytest.param(403, AuthenticationFailed, id="403"),
        pytest.param(404, UpstreamBadRequest, id="404"),
        pytest.param(408, UpstreamTimeout, id="408"),
        pytest.param(413, UpstreamBadRequest, id="413"),
        pytest.param(422, UpstreamBadRequest, id="422"),
        pytest.param(429, RateLimited, id="429"),
        pytest.param(500, UpstreamUnavailable, id="500"),
        pytest.param(502, UpstreamUnavailable, id="502"),
        pytest.param(503, UpstreamUnavailable, id="503"),
        pytest.param(504, UpstreamUnavailable, id="504"),
        pytest.param(529, UpstreamUnavailable, id="529-overloaded"),
    ],
)
def test_error_for_status(status: int, error: type[LLMRelayError]) -> None:
    result = error_for_status(status, "boom", provider="groq", retry_after=2.0)
    assert type(result) is error
    assert (result.message, result.provider, result.retry_after) == ("boom", "groq", 2.0)


@pytest.mark.parametrize(
    ("status", "error_type", "code", "error"),
    [
        pytest.param(400, "invalid_request_error", "content_filter", ContentFiltered, id="code"),
        pytest.param(400, "content_policy_violation", None, ContentFiltered, id="type"),
        pytest.param(422, None, "content_filter", ContentFiltered, id="422"),
        pytest.param(500, "content_filter", None, UpstreamUnavailable, id="5xx-stays-5xx"),
        pytest.param(401, "content_filter", None, AuthenticationFailed, id="401-stays-auth"),
    ],
)
def test_a_refusal_for_content_is_content_filtered_only_on_a_4xx(
    status: int, error_type: str | None, code: str | None, error: type[LLMRelayError]
) -> None:
    result = error_for_status(status, "x", provider="openai", error_type=error_type, code=code)
    assert type(result) is error


@pytest.mark.parametrize(
    ("error_type", "code", "error"),
    [
        pytest.param("overloaded_error", None, UpstreamUnavailable, id="anthropic-overloaded"),
        pytest.param("api_error", None, UpstreamUnavailable, id="anthropic-api-error"),
        pytest.param("server_error", None, UpstreamUnavailable, id="openai-server-error"),
        pytest.param("overloaded", None, UpstreamUnavailable, id="tgi-overloaded"),
        pytest.param("rate_limit_error", None, RateLimited, id="anthropic-rate-limit"),
        pytest.param("requests", "rate_limit_exceeded", RateLimited, id="openai-rate-limit"),
        pytest.param("authentication_error", None, AuthenticationFailed, id="anthropic-auth"),
        pytest.param(
            "invalid_request_error", "invalid_api_key", AuthenticationFailed, id="code-wins"
        ),
        pytest.param("invalid_request_error", None, UpstreamBadRequest, id="invalid-request"),
        pytest.param("validation", None, UpstreamBadRequest, id="tgi-validation"),
        pytest.param("timeout_error", None, UpstreamTimeout, id="timeout"),
        pytest.param(None, "content_filter", ContentFiltered, id="content-filter"),
        pytest.param("Overloaded_Error ", None, UpstreamUnavailable, id="case-and-space"),
        pytest.param("brand_new_error", None, UpstreamUnavailable, id="unknown-is-unavailable"),
        pytest.param(None, None, UpstreamUnavailable, id="nothing-known"),
    ],
)
def test_error_for_type(
    error_type: str | None, code: str | None, error: type[LLMRelayError]
) -> None:
    result = error_for_type(error_type, "mid-stream", provider="anthropic", code=code)
    assert type(result) is error
    assert (result.message, result.provider) == ("mid-stream", "anthropic")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param({"error": {"message": "m", "type": "t"}}, "m", id="openai"),
        pytest.param(
            {"type": "error", "error": {"type": "t", "message": "m"}}, "m", id="anthropic"
        ),
        pytest.param({"error": "m", "error_type": "overloaded"}, "m", id="tgi"),
        pytest.param({"message": "m"}, "m", id="bare-message"),
        pytest.param({"error": {"code": 5}}, None, id="no-message"),
        pytest.param({"error": ""}, None, id="empty"),
        pytest.param("<html>502 Bad Gateway</html>", None, id="raw-body-never-quoted"),
        pytest.param(["m"], None, id="not-an-object"),
        pytest.param(None, None, id="none"),
    ],
)
def test_message_from_body(body: object, expected: str | None) -> None:
    assert message_from_body(body) == expected


@pytest.mark.parametrize(
    ("detail", "secrets", "expected"),
    [
        pytest.param(None, (), "openai answered HTTP 500", id="no-detail"),
        pytest.param(
            "model\n  not\tfound", (), "openai answered HTTP 500: model not found", id="one-line"
        ),
        pytest.param(
            "bad key sk-proj-abcdefgh12345678",
            (),
            "openai answered HTTP 500: bad key [redacted]",
            id="key-shaped",
        ),
        pytest.param(
            "bad key opaque-value-99",
            ("opaque-value-99", None),
            "openai answered HTTP 500: bad key [redacted]",
            id="given-secret",
        ),
    ],
)
def test_upstream_message(
    detail: str | None, secrets: tuple[str | None, ...], expected: str
) -> None:
    assert upstream_message("openai", "answered HTTP 500", detail, secrets) == expected


def test_upstream_message_truncates_long_quotes() -> None:
    message = upstream_message("openai", "said", "x" * 10_000)
    assert len(message) < 400
    assert message.endswith("…")
