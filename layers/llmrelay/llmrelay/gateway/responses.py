"""The gateway's response shapes: JSON documents, JSON errors and SSE streams."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Mapping
from types import MappingProxyType

from llmrelay.errors import LLMRelayError
from llmrelay.http import HttpResponse
from llmrelay.observability.record import note_error
from llmrelay.protocols.base import json_text
from llmrelay.protocols.batch import encode_error

__all__ = ["JSON_HEADERS", "SSE_HEADERS", "error_response", "json_response", "sse_response"]

JSON_HEADERS: Mapping[str, str] = MappingProxyType(
    {"content-type": "application/json", "cache-control": "no-store"}
)
SSE_HEADERS: Mapping[str, str] = MappingProxyType(
    {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        # Tells nginx-style proxies not to hold events back in a buffer.
        "x-accel-buffering": "no",
    }
)


def json_response(
    status: int, document: object, headers: Mapping[str, str] | None = None
) -> HttpResponse:
    body = json_text(document).encode("utf-8", "replace")
    return HttpResponse(status, {**JSON_HEADERS, **(headers or {})}, body)


def error_response(error: LLMRelayError, headers: Mapping[str, str] | None = None) -> HttpResponse:
    """``{"error": {...}}`` with the error's status (and ``Retry-After`` when it has one)."""
    note_error(error.code)  # for the invocation's logs and metrics
    extra = dict(headers or {})
    retry_after = error.retry_after
    if retry_after is not None and math.isfinite(retry_after) and retry_after >= 0:
        extra["retry-after"] = str(math.ceil(retry_after))
    return HttpResponse(error.status, {**JSON_HEADERS, **extra}, encode_error(error))


def sse_response(
    body: AsyncIterator[bytes], status: int = 200, *, headers: Mapping[str, str] | None = None
) -> HttpResponse:
    """An event stream; ``headers`` add to (or override) :data:`SSE_HEADERS`."""
    return HttpResponse(status, {**SSE_HEADERS, **(headers or {})}, body)
