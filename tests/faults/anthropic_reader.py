"""A strict reader of ``POST /v1/messages`` responses for the fault suite: Anthropic's error
body, its stream events in their documented order, or its ``message`` document, reduced to
the fields of :class:`tests.faults.dialects.Observed` (a dict, so this module stands alone).

The stream must open with ``message_start``, hold blocks one at a time (each
``content_block_start`` at the next index, its deltas, its ``content_block_stop``), and
end with exactly one of ``message_delta`` + ``message_stop`` or one ``error`` event, with
nothing after it. Every event's ``event:`` name is its ``data`` ``type``.
"""

from __future__ import annotations

import json
from typing import Any

from tests.protocols.sse_reader import read_sse

from llmrelay.http import HttpResponse

__all__ = ["PING_EVENT", "read_messages", "read_messages_stream"]

PING_EVENT = b'event: ping\ndata: {"type":"ping"}\n\n'
_MESSAGE_FIELDS = {
    "id",
    "type",
    "role",
    "model",
    "content",
    "stop_reason",
    "stop_sequence",
    "usage",
}
_USAGE_FIELDS = {
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
}


def _error_detail(error: dict[str, Any]) -> str:
    """The error object's llmrelay code, once its shape is Anthropic's."""
    assert set(error) == {"type", "message", "details"}, error
    assert isinstance(error["type"], str)
    assert error["type"].endswith("_error") or error["type"] == "request_too_large", error
    assert isinstance(error["message"], str)
    assert error["message"]
    assert set(error["details"]) == {"error_code"}, error
    code: str = error["details"]["error_code"]
    return code


def _error_body(response: HttpResponse, raw: bytes) -> dict[str, Any]:
    assert response.status >= 400, f"an error body with status {response.status}"
    assert response.headers.get("content-type") == "application/json", response.headers
    document = json.loads(raw)
    assert set(document) == {"type", "error"}, document
    assert document["type"] == "error"
    code = _error_detail(document["error"])
    return {
        "status": response.status,
        "code": code,
        "retry_after": response.headers.get("retry-after"),
    }


def _check_blocks(events: list[dict[str, Any]], *, complete: bool) -> str:
    """The text of the blocks, once they are framed one at a time (and, for an answer that
    is ``complete``, all stopped: an error event may cut a block short, as Anthropic's do)."""
    open_index, next_index, text = None, 0, ""
    for event in events:
        kind = event["type"]
        if kind == "content_block_start":
            assert open_index is None, f"a block opened inside another: {event}"
            assert event["index"] == next_index, event
            open_index, next_index = next_index, next_index + 1
        elif kind == "content_block_stop":
            assert event["index"] == open_index, event
            open_index = None
        elif kind == "content_block_delta":
            assert event["index"] == open_index, event
            if event["delta"]["type"] == "text_delta":
                text += event["delta"]["text"]
        else:
            assert kind == "ping", f"{kind} inside the message"
    assert open_index is None or not complete, "a block never stopped"
    return text


def read_messages_stream(response: HttpResponse, raw: bytes) -> dict[str, Any]:
    if response.status != 200:
        return _error_body(response, raw)
    assert response.headers.get("content-type", "").startswith("text/event-stream")
    assert raw.endswith(b"\n\n"), f"the stream ends inside an event: {raw[-80:]!r}"
    found = read_sse(raw)
    events = [json.loads(event.data) for event in found]
    assert [e.event for e in found] == [e["type"] for e in events], "event names and types"
    assert events[0]["type"] == "message_start", events[0]
    start = events[0]["message"]
    assert set(start) == _MESSAGE_FIELDS, start
    assert (start["content"], start["stop_reason"]) == ([], None)
    models = (start["model"],)
    kinds = [event["type"] for event in events]
    assert kinds.count("error") + kinds.count("message_stop") == 1, kinds
    if kinds[-1] == "error":
        text = _check_blocks(events[1:-1], complete=False)
        code = _error_detail(events[-1]["error"])
        return {"status": 200, "text": text, "code": code, "in_band": True, "models": models}
    assert kinds[-2:] == ["message_delta", "message_stop"], kinds
    assert kinds.count("message_delta") == 1, kinds
    text = _check_blocks(events[1:-2], complete=True)
    delta = events[-2]
    reasons = ("end_turn", "max_tokens", "tool_use", "refusal", "stop_sequence")
    assert delta["delta"]["stop_reason"] in reasons, delta
    assert set(delta["usage"]) >= _USAGE_FIELDS, delta
    return {"status": 200, "text": text, "models": models}


def read_messages(response: HttpResponse, raw: bytes) -> dict[str, Any]:
    if response.status != 200:
        return _error_body(response, raw)
    assert response.headers.get("content-type") == "application/json"
    document = json.loads(raw)
    assert set(document) == _MESSAGE_FIELDS, document
    assert (document["type"], document["role"]) == ("message", "assistant"), document
    assert set(document["usage"]) >= _USAGE_FIELDS, document
    text = "".join(block["text"] for block in document["content"] if block["type"] == "text")
    return {"status": 200, "text": text, "models": (document["model"],)}
