"""Upstream failures to llmrelay errors, shared by every adapter and independent of any SDK.

Adapters catch their SDK's exceptions and hand the facts (HTTP status, the error's ``type``
and ``code``, its message, the response headers) to these helpers, so that a 429 or an
``overloaded_error`` means the same thing whichever vendor sent it. Quoted upstream text is
passed through :func:`llmrelay.redact.redact` and truncated: never a key, never a whole body.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from email.utils import parsedate_to_datetime

from llmrelay.errors import (
    AuthenticationFailed,
    ContentFiltered,
    LLMRelayError,
    RateLimited,
    UpstreamBadRequest,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from llmrelay.redact import redact

__all__ = [
    "error_for_status",
    "error_for_type",
    "message_from_body",
    "parse_retry_after",
    "upstream_message",
]

_QUOTE_LIMIT = 300

# Error ``type``/``code`` strings as OpenAI, Anthropic, Hugging Face (TGI) and the common
# OpenAI-compatible servers send them, in error bodies and in-stream error events.
_BY_TYPE: dict[str, type[LLMRelayError]] = {
    **dict.fromkeys(
        ("authentication_error", "invalid_api_key", "permission_error", "permission_denied"),
        AuthenticationFailed,
    ),
    **dict.fromkeys(("rate_limit_error", "rate_limit_exceeded", "tokens", "requests"), RateLimited),
    **dict.fromkeys(("timeout", "timeout_error", "request_timeout"), UpstreamTimeout),
    **dict.fromkeys(
        ("content_filter", "content_policy_violation", "content_filtered", "safety"),
        ContentFiltered,
    ),
    **dict.fromkeys(
        (
            "invalid_request_error",
            "not_found_error",
            "model_not_found",
            "request_too_large",
            "validation",
            "context_length_exceeded",
        ),
        UpstreamBadRequest,
    ),
    **dict.fromkeys(
        (
            "overloaded_error",
            "overloaded",
            "api_error",
            "server_error",
            "service_unavailable",
            "generation",
            "incomplete_generation",
        ),
        UpstreamUnavailable,
    ),
}


def _class_for_status(status: int) -> type[LLMRelayError]:
    if status in (401, 403):
        return AuthenticationFailed
    if status == 429:
        return RateLimited
    if status == 408:
        return UpstreamTimeout
    if status >= 500:  # 529 (Anthropic "overloaded") included
        return UpstreamUnavailable
    # 400, 404, 409, 413, 422 and any other refusal: resending the same request will not help.
    return UpstreamBadRequest


def error_for_status(
    status: int,
    message: str,
    *,
    provider: str,
    retry_after: float | None = None,
    error_type: str | None = None,
    code: str | None = None,
) -> LLMRelayError:
    """The error for an HTTP ``status`` answer. A 4xx whose ``code``/``type`` says the
    content was filtered (Azure and OpenAI send 400 + ``content_filter``) is ``ContentFiltered``.
    """
    cls = _class_for_status(status)
    if cls is UpstreamBadRequest and _lookup(code, error_type) is ContentFiltered:
        cls = ContentFiltered
    return cls(message, provider=provider, retry_after=retry_after)


def error_for_type(
    error_type: str | None,
    message: str,
    *,
    provider: str,
    code: str | None = None,
    retry_after: float | None = None,
) -> LLMRelayError:
    """The error for an in-stream error event (no HTTP status: the stream already said 200).

    ``code`` is more specific than ``type`` and wins. Unknown types count as upstream
    unavailable: a stream that breaks after it started is most often a passing fault.
    """
    cls = _lookup(code, error_type) or UpstreamUnavailable
    return cls(message, provider=provider, retry_after=retry_after)


def _lookup(*names: str | None) -> type[LLMRelayError] | None:
    for name in names:
        if name and (cls := _BY_TYPE.get(name.strip().lower())) is not None:
            return cls
    return None


def parse_retry_after(
    headers: Mapping[str, str] | None, *, now: float | None = None
) -> float | None:
    """Seconds to wait, from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date).

    ``None`` when absent or unreadable; never negative.
    """
    if not headers:
        return None
    lowered = {name.lower(): value for name, value in headers.items()}
    millis = _number(lowered.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    seconds = _number(raw)
    if seconds is not None:
        return seconds
    return _seconds_until(raw, time.time() if now is None else now)


def _number(raw: str | None) -> float | None:
    try:
        value = float(raw) if raw is not None else None
    except ValueError:
        return None
    if value is None or value != value or value in (float("inf"), float("-inf")):
        return None
    return max(value, 0.0)


def _seconds_until(http_date: str, now: float) -> float | None:
    try:
        when = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT; be lenient with a missing zone
        return None
    return max(when.timestamp() - now, 0.0)


def message_from_body(body: object) -> str | None:
    """The human message inside a decoded upstream error document, whatever its vendor's
    shape: ``{"error": {"message": ...}}``, ``{"error": "..."}`` or ``{"message": ...}``.

    A body that is not a JSON object (an HTML error page, plain text) gives ``None``: a raw
    body is never quoted.
    """
    if not isinstance(body, Mapping):
        return None
    error = body.get("error")
    if isinstance(error, Mapping):
        return message_from_body(error)
    if isinstance(error, str) and error:
        return error
    message = body.get("message")
    return message if isinstance(message, str) and message else None


def upstream_message(
    provider: str, what: str, detail: str | None = None, secrets: Iterable[str | None] = ()
) -> str:
    """``"<provider> <what>: <detail>"``, the quoted detail scrubbed of keys and truncated."""
    text = f"{provider} {what}"
    if not detail:
        return text
    quoted = redact(" ".join(detail.split()), extra=[s for s in secrets if s])
    if len(quoted) > _QUOTE_LIMIT:
        quoted = quoted[: _QUOTE_LIMIT - 1] + "…"
    return f"{text}: {quoted}"
