"""botocore's exceptions, before the stream and inside it, as llmrelay errors.

Bedrock names its errors by code, before the stream (``ThrottlingException`` with HTTP
429...) and inside it (``throttlingException``, ``modelStreamErrorException``... as
``EventStreamError``), so the code decides, case-blind, and the HTTP status only when the code
is one this table does not know. Transport failures come from botocore before the stream and
from urllib3 inside it (botocore does not wrap the event stream's reads).
"""

from __future__ import annotations

from typing import Any, Final

from llmrelay.errors import (
    AuthenticationFailed,
    LLMRelayError,
    MissingKey,
    RateLimited,
    UpstreamBadRequest,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from llmrelay.providers.errormap import error_for_status, parse_retry_after, upstream_message

__all__ = ["map_error"]

_BY_CODE: Final[dict[str, type[LLMRelayError]]] = {
    **dict.fromkeys(
        ("throttlingexception", "servicequotaexceededexception", "toomanyrequestsexception"),
        RateLimited,
    ),
    **dict.fromkeys(
        (
            "accessdeniedexception",
            "unrecognizedclientexception",
            "invalidsignatureexception",
            "expiredtokenexception",
            "incompletesignatureexception",
            "missingauthenticationtokenexception",
        ),
        AuthenticationFailed,
    ),
    **dict.fromkeys(("validationexception", "resourcenotfoundexception"), UpstreamBadRequest),
    **dict.fromkeys(
        (
            "modelnotreadyexception",
            "serviceunavailableexception",
            "internalserverexception",
            "modelstreamerrorexception",
            "modelerrorexception",
        ),
        UpstreamUnavailable,
    ),
    "modeltimeoutexception": UpstreamTimeout,
}


def _client_error(exc: Any, provider: str, *, in_stream: bool) -> LLMRelayError:
    response = exc.response if isinstance(exc.response, dict) else {}
    error = response.get("Error") or {}
    code = str(error.get("Code") or "")
    meta = response.get("ResponseMetadata") or {}
    status = meta.get("HTTPStatusCode")
    detail = ": ".join(part for part in (code, str(error.get("Message") or "")) if part)
    what = "failed mid-answer" if in_stream else f"answered HTTP {status}"
    message = upstream_message(provider, what, detail)
    retry_after = parse_retry_after(meta.get("HTTPHeaders"))
    cls = _BY_CODE.get(code.lower())
    if cls is not None:
        return cls(message, provider=provider, retry_after=retry_after)
    if in_stream or not isinstance(status, int):
        return UpstreamUnavailable(message, provider=provider)
    return error_for_status(status, message, provider=provider, retry_after=retry_after)


def map_error(exc: Exception, provider: str = "bedrock") -> LLMRelayError:
    """The llmrelay error for what boto3 (or urllib3, mid-stream) raised."""
    import urllib3.exceptions
    from botocore import exceptions as boto  # type: ignore[import-untyped]
    from botocore.eventstream import ParserError  # type: ignore[import-untyped]

    if isinstance(exc, boto.EventStreamError):  # before ClientError: a subclass
        return _client_error(exc, provider, in_stream=True)
    if isinstance(exc, boto.ClientError):
        return _client_error(exc, provider, in_stream=False)
    timeouts = (boto.ReadTimeoutError, boto.ConnectTimeoutError, urllib3.exceptions.TimeoutError)
    if isinstance(exc, timeouts):
        return UpstreamTimeout(
            upstream_message(provider, "did not answer in time"), provider=provider
        )
    if isinstance(exc, boto.NoCredentialsError | boto.PartialCredentialsError):
        what = "has no AWS credentials (the function's role, or the standard AWS_* variables)"
        return MissingKey(upstream_message(provider, what), provider=provider)
    if isinstance(exc, boto.ParamValidationError):  # botocore's own check of the request
        message = upstream_message(provider, "refused the request", str(exc))
        return UpstreamBadRequest(message, provider=provider)
    if isinstance(exc, ParserError):
        message = upstream_message(provider, "sent a malformed event-stream message")
        return UpstreamUnavailable(message, provider=provider)
    message = upstream_message(provider, "connection failed or was cut mid-answer")
    return UpstreamUnavailable(message, provider=provider)
