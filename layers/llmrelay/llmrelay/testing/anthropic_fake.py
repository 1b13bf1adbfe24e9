"""A fake Anthropic Messages API that speaks the real streaming wire format.

``POST /v1/messages`` with ``"stream": true`` answers the event sequence of the real API,
each event framed as ``event: <type>\\ndata: <json>\\n\\n``::

    message_start (usage.input_tokens) → content_block_start → ping
    → content_block_delta (text_delta) per piece → content_block_stop
    → message_delta (stop_reason, cumulative usage) → message_stop

Errors use Anthropic's body shape ``{"type": "error", "error": {"type", "message"}}``; an
``in_stream_error`` fault sends ``event: error`` on the 200 stream, which is how the real API
reports ``overloaded_error`` once streaming has begun.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

from llmrelay.httpd import Request, ResponseWriter
from llmrelay.testing.upstream import FakeUpstream, Fault, RecordedRequest, Reply

__all__ = ["FakeAnthropic", "error_type_for_status", "key_of", "stop_reason_for"]

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
_MALFORMED = b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, \n\n'


_EMPTY_TEXT = {"type": "text", "text": ""}


def _text_delta(text: str) -> dict[str, str]:
    return {"type": "text_delta", "text": text}


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


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _error_document(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


class FakeAnthropic(FakeUpstream):
    """``with FakeAnthropic() as fake:``; point the SDK's ``base_url`` at ``fake.url``.

    Every request is recorded (``fake.requests``): its body holds ``system``, ``messages``,
    ``max_tokens`` and ``model``; its headers the key and ``anthropic-version``.
    """

    def __init__(self, default: Reply | None = None) -> None:
        super().__init__(default)
        self._ids = itertools.count(1)

    def __enter__(self) -> FakeAnthropic:
        self.start()
        return self

    def error_body(self, fault: Fault) -> str:
        return json.dumps(_error_document(error_type_for_status(fault.status), fault.message))

    async def answer(
        self, request: Request, body: Any, reply: Reply, response: ResponseWriter
    ) -> None:
        if request.method != "POST" or request.path != "/v1/messages":
            document = _error_document("not_found_error", f"no route {request.path}")
            await response.send(404, json.dumps(document).encode(), self._headers("json"))
            return
        model = body.get("model", "") if isinstance(body, dict) else ""
        if isinstance(body, dict) and body.get("stream") is True:
            await self._stream(model, reply, response)
        else:
            await self._whole(model, reply, response)

    def _headers(self, kind: str) -> list[tuple[str, str]]:
        content_type = "text/event-stream" if kind == "sse" else "application/json"
        return [("Content-Type", content_type), ("request-id", f"req_fake{next(self._ids)}")]

    def _message(self, model: str, reply: Reply, *, done: bool) -> dict[str, Any]:
        return {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": reply.text}] if done else [],
            "stop_reason": stop_reason_for(reply.finish_reason) if done else None,
            "stop_sequence": None,
            # The real API counts a token or so of output already in message_start.
            "usage": {
                "input_tokens": reply.input_tokens,
                "output_tokens": reply.completion_tokens if done else 1,
            },
        }

    async def _whole(self, model: str, reply: Reply, response: ResponseWriter) -> None:
        fault = reply.fault
        if fault is not None and fault.kind == "stall":
            await asyncio.sleep(fault.delay_s)
        if fault is not None and fault.kind == "cut":
            response.abort()
            return
        if fault is not None and fault.kind == "malformed":
            await response.send(200, b'{"id": "msg_fake", "content": [', self._headers("json"))
            return
        if fault is not None and fault.kind == "in_stream_error":
            document = _error_document(fault.error_type, fault.message)
            await response.send(529, json.dumps(document).encode(), self._headers("json"))
            return
        data = json.dumps(self._message(model, reply, done=True), ensure_ascii=False)
        await response.send(200, data.encode(), self._headers("json"))

    async def _stream(self, model: str, reply: Reply, response: ResponseWriter) -> None:
        await response.start(200, [*self._headers("sse"), ("Cache-Control", "no-cache")])
        start = {"type": "message_start", "message": self._message(model, reply, done=False)}
        await self.write_event(response, _sse("message_start", start), reply)
        block = {"type": "content_block_start", "index": 0, "content_block": _EMPTY_TEXT}
        await self.write_event(response, _sse("content_block_start", block), reply)
        await self.write_event(response, _sse("ping", {"type": "ping"}), reply)
        for index, piece in enumerate(reply.pieces):
            if await self.fault_mid_stream(response, reply, index):
                return
            delta = {"type": "content_block_delta", "index": 0, "delta": _text_delta(piece)}
            await self.write_event(response, _sse("content_block_delta", delta), reply)
        if await self.fault_mid_stream(response, reply, len(reply.pieces)):
            return
        await self._finish(response, reply)

    async def _finish(self, response: ResponseWriter, reply: Reply) -> None:
        stop = {"type": "content_block_stop", "index": 0}
        await self.write_event(response, _sse("content_block_stop", stop), reply)
        # Usage on message_delta is cumulative (a total so far, not an increment), and the
        # current API repeats input_tokens there: a client that adds counts up gets it wrong.
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason_for(reply.finish_reason), "stop_sequence": None},
            "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.completion_tokens},
        }
        await self.write_event(response, _sse("message_delta", delta), reply)
        await self.write_event(response, _sse("message_stop", {"type": "message_stop"}), reply)
        await response.end()

    malformed_event = _MALFORMED

    def in_stream_error(self, fault: Fault) -> bytes:
        """Anthropic's ``event: error`` on the 200 stream (how overloaded_error arrives)."""
        return _sse("error", _error_document(fault.error_type, fault.message))
