"""One small error hierarchy: every failure has a stable ``code``, an HTTP ``status``
and says whether a retry makes sense (``retryable``).

Vendor exceptions are translated into these at each provider's edge (``raise ... from exc``).
Messages are written by llmrelay and may quote upstream text; every message goes through
:func:`llmrelay.redact.redact` here, once, so no key can travel inside an error even when an
adapter forgets to scrub what the upstream echoed back.
"""

from __future__ import annotations

import re
from typing import ClassVar, Final

from llmrelay.redact import redact

__all__ = [
    "AuthenticationFailed",
    "ConfigurationError",
    "ContentFiltered",
    "DeadlineExceeded",
    "InvalidRequest",
    "LLMRelayError",
    "MissingKey",
    "RateLimited",
    "UnknownModel",
    "UnsupportedParameter",
    "UpstreamBadRequest",
    "UpstreamError",
    "UpstreamTimeout",
    "UpstreamUnavailable",
]


class LLMRelayError(Exception):
    """Base of every llmrelay error."""

    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        """The client-facing shape: ``code``, ``message``, ``retryable`` (+ ``retry_after``)."""
        body: dict[str, object] = {
            "code": self.code,
            "message": self.message,
            "retryable": self.retryable,
        }
        if self.retry_after is not None:
            body["retry_after"] = self.retry_after
        return body


class ConfigurationError(LLMRelayError):
    """llmrelay's own environment is wrong (a bad ``LLMRELAY_*`` value): not the client's fault.

    Deliberately not a ``ValueError``: pydantic would turn it into a validation error and so
    blame the client for the server's configuration.
    """

    code = "configuration_error"
    status = 500


_FIELD: Final = re.compile(r"([A-Za-z_][\w.\-]*): ")


class InvalidRequest(LLMRelayError):
    """The request itself is wrong (shape, limits, unknown fields); ``param`` names the
    field at fault where there is one (``messages.0.content``), for dialects whose error
    shape has a place for it (OpenAI's ``param``). Unless given, it is read off the message,
    which names its field first (``"tools.0.type: ..."``)."""

    code = "invalid_request"
    status = 400

    def __init__(
        self, message: str, *, param: str | None = None, provider: str | None = None
    ) -> None:
        super().__init__(message, provider=provider)
        self.param = param if param is not None else _field_of(self.message)


def _field_of(message: str) -> str | None:
    """``tools.0.type`` from ``"tools.0.type: only 'function' tools are supported"``: every
    request error's message starts with the field it is about."""
    found = _FIELD.match(message)
    return None if found is None or found[1] == "body" else found[1]


class UnsupportedParameter(InvalidRequest):
    """The request asks for something the chosen provider cannot do; ``param`` names it."""

    code = "unsupported_parameter"


class UnknownModel(LLMRelayError):
    """The model string names no configured provider, or is malformed."""

    code = "unknown_model"
    status = 400


class MissingKey(LLMRelayError):
    """The provider needs a key that the secret does not hold."""

    code = "missing_key"
    status = 503


class AuthenticationFailed(LLMRelayError):
    """The upstream rejected llmrelay's key (401/403)."""

    code = "upstream_auth_failed"
    status = 502


class RateLimited(LLMRelayError):
    """The upstream throttled us (429); ``retry_after`` carries its hint in seconds."""

    code = "rate_limited"
    status = 429
    retryable = True


class UpstreamTimeout(LLMRelayError):
    """The upstream did not answer (or went silent) in time."""

    code = "upstream_timeout"
    status = 504
    retryable = True


class UpstreamUnavailable(LLMRelayError):
    """5xx, 529, overloaded, a dropped connection or a garbled stream."""

    code = "upstream_unavailable"
    status = 502
    retryable = True


class UpstreamBadRequest(LLMRelayError):
    """The upstream refused the request as invalid (400/404/413/422)."""

    code = "upstream_bad_request"
    status = 400


class ContentFiltered(LLMRelayError):
    """The upstream's safety system refused or stopped the answer."""

    code = "content_filtered"
    status = 422


class DeadlineExceeded(LLMRelayError):
    """The function's deadline (or the request's total timeout) came first."""

    code = "deadline_exceeded"
    status = 504
    retryable = True


# Alias for readability at the adapter edge: "some upstream failure".
UpstreamError = UpstreamUnavailable
