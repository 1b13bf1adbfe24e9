"""The gateway's own errors, in the one hierarchy of :mod:`llmrelay.errors`."""

from __future__ import annotations

from llmrelay.errors import InvalidRequest, LLMRelayError

__all__ = [
    "AuthUnavailable",
    "InvalidJson",
    "MethodNotAllowed",
    "NotFound",
    "OriginNotAllowed",
    "PayloadTooLarge",
    "Unauthorized",
]


class NotFound(LLMRelayError):
    """No route has this path."""

    code = "not_found"
    status = 404


class MethodNotAllowed(LLMRelayError):
    """The path is known, the method is not (the response carries ``Allow``)."""

    code = "method_not_allowed"
    status = 405


class PayloadTooLarge(LLMRelayError):
    """The request body is over the configured limit."""

    code = "payload_too_large"
    status = 413


class InvalidJson(InvalidRequest):
    """The body is not one JSON value (empty, malformed, not UTF-8, too deep)."""

    code = "invalid_json"
    status = 400


class Unauthorized(LLMRelayError):
    """No client API key, or not one of the configured ones (the response carries
    ``WWW-Authenticate: Bearer``)."""

    code = "unauthorized"
    status = 401


class AuthUnavailable(LLMRelayError):
    """Client keys cannot be checked now (the secret is unreadable): refused, not waved through."""

    code = "auth_unavailable"
    status = 503
    retryable = True


class OriginNotAllowed(LLMRelayError):
    """A CORS preflight from an origin that is not in ``LLMRELAY_CORS_ORIGINS``."""

    code = "origin_not_allowed"
    status = 403
