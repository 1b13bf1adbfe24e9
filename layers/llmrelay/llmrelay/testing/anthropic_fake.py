"""A fake Anthropic Messages API that speaks the real streaming wire format.

``POST /v1/messages`` with ``"stream": true`` answers the event sequence of the real API,
each event framed as ``event: <type>\\ndata: <json>\\n\\n``, one content block after another,
each with its own ``index`` and a ``ping`` after its start, as the real API interleaves them::

    message_start (usage: input and cache tokens)
    → [thinking: thinking_delta per reasoning piece, then one signature_delta]
    → [redacted_thinking per Reply.redacted (its data whole in content_block_start)]
    → text: text_delta per piece
    → [tool_use per tool call: input_json_delta per argument fragment]
    → message_delta (stop_reason, cumulative usage) → message_stop

``Reply.input_tokens`` counts every input token, cached or not (llmrelay's meaning); the fake
sends Anthropic's split: ``input_tokens`` (uncached), ``cache_read_input_tokens``
(``Reply.cached_tokens``) and ``cache_creation_input_tokens`` (``Reply.cache_write_tokens``).
Every request is recorded (``fake.requests``) and checked as the real API checks it
(:mod:`llmrelay.testing.anthropic_checks`): a thinking block handed back with a signature
the fake did not issue for that text is refused with a 400, and so on.

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
from llmrelay.testing.anthropic_checks import Issued, request_problem
from llmrelay.testing.anthropic_wire import (
    EMPTY_TEXT,
    MALFORMED,
    PING,
    error_document,
    error_type_for_status,
    key_of,
    sse,
    stop_reason_for,
    text_delta,
    tool_block,
    tool_use,
    usage,
)
from llmrelay.testing.upstream import FakeUpstream, Fault, Reply

__all__ = ["FakeAnthropic", "error_type_for_status", "key_of", "stop_reason_for"]


class FakeAnthropic(FakeUpstream):
    """``with FakeAnthropic() as fake:``; point the SDK's ``base_url`` at ``fake.url``.

    Every request is recorded (``fake.requests``): its body holds ``system``, ``messages``,
    ``max_tokens``, ``model`` and whatever else the client sent; its headers the key and
    ``anthropic-version``. ``fake.issued`` holds the signatures and redacted data it sent.
    """

    def __init__(self, default: Reply | None = None) -> None:
        super().__init__(default)
        self._ids = itertools.count(1)
        self.issued = Issued()

    def __enter__(self) -> FakeAnthropic:
        self.start()
        return self

    def error_body(self, fault: Fault) -> str:
        return json.dumps(error_document(error_type_for_status(fault.status), fault.message))

    async def answer(
        self, request: Request, body: Any, reply: Reply, response: ResponseWriter
    ) -> None:
        if request.method != "POST" or request.path != "/v1/messages":
            document = error_document("not_found_error", f"no route {request.path}")
            await response.send(404, json.dumps(document).encode(), self._headers("json"))
            return
        problem = request_problem(body, self.issued)
        if problem is not None:
            document = error_document("invalid_request_error", problem)
            await response.send(400, json.dumps(document).encode(), self._headers("json"))
            return
        model = body.get("model", "") if isinstance(body, dict) else ""
        if isinstance(body, dict) and body.get("stream") is True:
            await self._stream(model, reply, response)
        else:
            await self._whole(model, reply, response)

    def _headers(self, kind: str) -> list[tuple[str, str]]:
        content_type = "text/event-stream" if kind == "sse" else "application/json"
        return [("Content-Type", content_type), ("request-id", f"req_fake{next(self._ids)}")]

    def _content(self, reply: Reply) -> list[dict[str, Any]]:
        """The whole reasoning and text blocks of ``reply``, in the order they stream (the
        tool calls come after them)."""
        content: list[dict[str, Any]] = []
        if reply.reasoning or reply.signature:
            thinking = "".join(reply.reasoning)
            signature = self.issued.sign(thinking, reply.signature)
            content.append({"type": "thinking", "thinking": thinking, "signature": signature})
        for data in reply.redacted:
            self.issued.redacted.add(data)
            content.append({"type": "redacted_thinking", "data": data})
        if reply.pieces or not (content or reply.tool_calls):
            content.append({"type": "text", "text": reply.text})
        return content

    def _message(self, model: str, reply: Reply, *, done: bool) -> dict[str, Any]:
        return {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [*self._content(reply), *map(tool_use, reply.tool_calls)] if done else [],
            "stop_reason": stop_reason_for(reply.finish_reason) if done else None,
            "stop_sequence": reply.stop_sequence if done else None,
            "usage": usage(reply, done=done),
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
            document = error_document(fault.error_type, fault.message)
            await response.send(529, json.dumps(document).encode(), self._headers("json"))
            return
        data = json.dumps(self._message(model, reply, done=True), ensure_ascii=False)
        await response.send(200, data.encode(), self._headers("json"))

    async def _event(self, response: ResponseWriter, reply: Reply, data: dict[str, Any]) -> None:
        await self.write_event(response, sse(data["type"], data), reply)

    async def _start(
        self, response: ResponseWriter, reply: Reply, index: int, block: dict[str, Any]
    ) -> None:
        start = {"type": "content_block_start", "index": index, "content_block": block}
        await self._event(response, reply, start)
        await self.write_event(response, PING, reply)

    async def _block(
        self,
        response: ResponseWriter,
        reply: Reply,
        index: int,
        block: dict[str, Any],
        deltas: list[dict[str, Any]],
    ) -> None:
        """One whole content block: its start, a ping, its deltas, its stop."""
        await self._start(response, reply, index, block)
        for delta in deltas:
            event = {"type": "content_block_delta", "index": index, "delta": delta}
            await self._event(response, reply, event)
        await self._event(response, reply, {"type": "content_block_stop", "index": index})

    async def _stream(self, model: str, reply: Reply, response: ResponseWriter) -> None:
        await response.start(200, [*self._headers("sse"), ("Cache-Control", "no-cache")])
        start = {"type": "message_start", "message": self._message(model, reply, done=False)}
        await self._event(response, reply, start)
        index = 0
        for block in self._content(reply):
            if block["type"] == "thinking":
                deltas = [{"type": "thinking_delta", "thinking": p} for p in reply.reasoning]
                deltas.append({"type": "signature_delta", "signature": block["signature"]})
                empty = {"type": "thinking", "thinking": "", "signature": ""}
                await self._block(response, reply, index, empty, deltas)
            elif block["type"] == "redacted_thinking":
                await self._block(response, reply, index, block, [])
            elif block["type"] == "text" and not await self._text(response, reply, index):
                return
            index += 1
        if not reply.pieces and await self.fault_mid_stream(response, reply, 0):
            return
        for call in reply.tool_calls:
            deltas = [{"type": "input_json_delta", "partial_json": f} for f in call.fragments]
            await self._block(response, reply, index, tool_block(call), deltas)
            index += 1
        await self._finish(response, reply)

    async def _text(self, response: ResponseWriter, reply: Reply, index: int) -> bool:
        """The text block, faults included; ``False`` when a fault ended the stream."""
        await self._start(response, reply, index, EMPTY_TEXT)
        for number, piece in enumerate(reply.pieces):
            if await self.fault_mid_stream(response, reply, number):
                return False
            delta = {"type": "content_block_delta", "index": index, "delta": text_delta(piece)}
            await self._event(response, reply, delta)
        if reply.pieces and await self.fault_mid_stream(response, reply, len(reply.pieces)):
            return False
        await self._event(response, reply, {"type": "content_block_stop", "index": index})
        return True

    async def _finish(self, response: ResponseWriter, reply: Reply) -> None:
        # Usage on message_delta is cumulative (a total so far, not an increment), and the
        # current API repeats the input counts there: a client that adds counts up gets it
        # wrong.
        delta = {
            "type": "message_delta",
            "delta": {
                "stop_reason": stop_reason_for(reply.finish_reason),
                "stop_sequence": reply.stop_sequence,
            },
            "usage": usage(reply, done=True),
        }
        await self._event(response, reply, delta)
        await self._event(response, reply, {"type": "message_stop"})
        await response.end()

    malformed_event = MALFORMED

    def in_stream_error(self, fault: Fault) -> bytes:
        """Anthropic's ``event: error`` on the 200 stream (how overloaded_error arrives)."""
        return sse("error", error_document(fault.error_type, fault.message))
