"""Anthropic's wire shapes, as the fake Messages API writes them. Pure.

SSE framing, error documents, the error type each status carries, the stop reason for a
neutral finish reason, and the usage of a scripted :class:`Reply` in Anthropic's split
(uncached ``input_tokens`` beside ``cache_read_input_tokens`` and
``cache_creation_input_tokens``).
"""

from __future__ import annotations

import json
from typing import Any

from llmrelay.testing.upstream import FakeToolCall, RecordedRequest, Reply

__all__ = [
    "EMPTY_TEXT",
    "MALFORMED",
    "PING",
    "error_document",
    "error_type_for_status",
    "key_of",
    "sse",
    "stop_reason_for",
    "text_delta",
    "tool_block",
    "tool_use",
    "usage",
]

# Anthropic's documented error types, by the HTTP status that carries them.
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
# Reply.finish_reason is provider-neutral ("stop", "length", ...) so one script drives every
# fake; Anthropic's own stop reasons pass through unchanged.
_STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "content_filter": "refusal",
    "tool_calls": "tool_use",
}
MALFORMED = b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, \n\n'


EMPTY_TEXT = {"type": "text", "text": ""}
PING = b'event: ping\ndata: {"type": "ping"}\n\n'


def text_delta(text: str) -> dict[str, str]:
    return {"type": "text_delta", "text": text}


def tool_block(call: FakeToolCall) -> dict[str, Any]:
    return {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}


def tool_use(call: FakeToolCall) -> dict[str, Any]:
    return {**tool_block(call), "input": json.loads(call.arguments or "{}")}


def usage(reply: Reply, *, done: bool) -> dict[str, Any]:
    """The usage so far: in ``message_start`` (the real API counts a token or so of output
    already there), or once ``done``, with the thinking tokens."""
    read, write = reply.cached_tokens, reply.cache_write_tokens
    counts: dict[str, Any] = {
        "input_tokens": max(reply.input_tokens - read - write, 0),
        "cache_creation_input_tokens": write,
        "cache_read_input_tokens": read,
        "output_tokens": reply.completion_tokens if done else 1,
    }
    if done and reply.reasoning_tokens:
        counts["output_tokens_details"] = {"thinking_tokens": reply.reasoning_tokens}
    return counts


def error_type_for_status(status: int) -> str:
    """The ``error.type`` Anthropic sends with ``status`` (``api_error`` for other 5xx)."""
    return _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")


def stop_reason_for(finish_reason: str) -> str:
    """Anthropic's ``stop_reason`` for a neutral (or already Anthropic) finish reason."""
    return _STOP_REASONS.get(finish_reason, finish_reason)


def key_of(request: RecordedRequest) -> str | None:
    """The API key a request carried: ``x-api-key``, or the bearer token newer SDKs send."""
    if "x-api-key" in request.headers:
        return request.headers["x-api-key"]
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def error_document(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}
