"""The OpenAI-compatible dialect (``POST /v1/chat/completions``): what the official SDKs read.

Streaming, one ``data:`` JSON object per SSE event, no ``event:`` names:

- ``chat.completion.chunk`` objects (``id``, ``object``, ``created``, ``model``, ``choices``
  of one ``{index, delta, finish_reason}``): first ``delta: {"role": "assistant",
  "content": ""}``, then ``{"content": ...}`` per piece of text, then ``delta: {}`` with
  the ``finish_reason``;
- with ``stream_options.include_usage``: ``"usage": null`` on those chunks, then one last
  chunk with empty ``choices`` and the ``usage``;
- a failure after the first byte: ``{"error": {...}}`` in place of the finish chunk (the
  SDKs raise ``APIError`` on it);
- always ``data: [DONE]`` last; ``: ping`` comments while the upstream is quiet.

Batch: one ``chat.completion`` object. Errors: ``{"error": {"message", "type", "code",
"param"}}``. Pure: bytes and dicts out, nothing written anywhere.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Sequence
from dataclasses import dataclass, replace

from llmrelay.errors import LLMRelayError, UnknownModel
from llmrelay.events import (
    Block,
    BlockStart,
    Failure,
    Finish,
    FinishReason,
    ReasoningBlock,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from llmrelay.protocols.base import Heartbeat, StreamItem, StreamMeta, json_text
from llmrelay.sse import PING, encode_event

__all__ = [
    "DONE",
    "Completion",
    "chunk",
    "completion",
    "encode_chunks",
    "encode_completion",
    "encode_error",
    "error_object",
    "usage_object",
]

DONE = encode_event("[DONE]")

# OpenAI's finish reasons have no "other": a stop for any reason not listed is a "stop".
_FINISH_REASONS: dict[FinishReason, str] = {
    "stop": "stop",
    "length": "length",
    "content_filter": "content_filter",
    "tool_calls": "tool_calls",
    "other": "stop",
    "stopped": "stop",
}
# OpenAI's error ``type`` by HTTP status (its SDKs pick the exception class by status).
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


@dataclass(frozen=True, slots=True)
class Completion:
    """One response's identity, the same in every chunk: ``chatcmpl-<request id>``."""

    meta: StreamMeta
    include_usage: bool = False

    @property
    def id(self) -> str:
        return f"chatcmpl-{self.meta.id}"


def usage_object(usage: Usage) -> dict[str, object]:
    """OpenAI's usage; the details only when there is something to say in them."""
    body: dict[str, object] = {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
    }
    if usage.cache_read_tokens:
        body["prompt_tokens_details"] = {"cached_tokens": usage.cache_read_tokens}
    if usage.reasoning_tokens:
        body["completion_tokens_details"] = {"reasoning_tokens": usage.reasoning_tokens}
    return body


def error_object(error: LLMRelayError) -> dict[str, object]:
    """``{"error": {"message", "type", "code", "param"}}``; ``code`` is llmrelay's stable
    code (``rate_limited``, ``unknown_model``, ...), ``type`` OpenAI's for the status,
    ``param`` the field at fault when llmrelay knows it (``model``, ``tools.0.function``)."""
    kind = _ERROR_TYPES.get(error.status, "server_error" if error.status >= 500 else "api_error")
    param = "model" if isinstance(error, UnknownModel) else getattr(error, "param", None)
    return {"error": {"message": error.message, "type": kind, "code": error.code, "param": param}}


def encode_error(error: LLMRelayError) -> bytes:
    return json_text(error_object(error)).encode("utf-8", "replace")


def chunk(
    info: Completion,
    delta: dict[str, object],
    finish_reason: FinishReason | None = None,
) -> dict[str, object]:
    """One ``chat.completion.chunk`` with a single choice."""
    reason = None if finish_reason is None else _FINISH_REASONS[finish_reason]
    body: dict[str, object] = {
        "id": info.id,
        "object": "chat.completion.chunk",
        "created": info.meta.created,
        "model": info.meta.model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}],
    }
    if info.include_usage:
        body["usage"] = None
    return body


def _usage_chunk(info: Completion, usage: Usage) -> dict[str, object]:
    return {**chunk(info, {}), "choices": [], "usage": usage_object(usage)}


def _answered_by(info: Completion, finish: Finish) -> Completion:
    """The finish knows best which model answered: a fallback may have, after the start."""
    if finish.model is None or finish.model == info.meta.model:
        return info
    return replace(info, meta=replace(info.meta, model=finish.model))


def _event(document: object) -> bytes:
    return encode_event(json_text(document))


def _terminal_events(info: Completion, item: Finish | Failure) -> list[bytes]:
    if isinstance(item, Failure):
        return [_event(error_object(item.error)), DONE]
    info = _answered_by(info, item)
    frames = [_event(chunk(info, {}, item.reason))]
    if info.include_usage:
        frames.append(_event(_usage_chunk(info, item.usage)))
    return [*frames, DONE]


class _ToolIndices:
    """Each tool-call block's ``index`` among the answer's tool calls (0, 1, ...)."""

    def __init__(self) -> None:
        self._of_block: dict[int, int] = {}

    def start(self, item: BlockStart) -> dict[str, object]:
        index = self._of_block[item.index] = len(self._of_block)
        function = {"name": item.name or "", "arguments": ""}
        call = {"index": index, "id": item.id, "type": "function", "function": function}
        return {"tool_calls": [call]}

    def arguments(self, item: ToolCallDelta) -> dict[str, object] | None:
        index = self._of_block.get(item.index)
        if index is None or not item.arguments:
            return None
        return {"tool_calls": [{"index": index, "function": {"arguments": item.arguments}}]}


def _content_delta(item: StreamItem, tools: _ToolIndices) -> dict[str, object] | None:
    """The chunk delta for a block event (``None``: nothing to send)."""
    if isinstance(item, ReasoningDelta):
        return {"reasoning_content": item.text} if item.text else None
    if isinstance(item, BlockStart):
        return tools.start(item) if item.kind == "tool_call" else None
    if isinstance(item, ToolCallDelta):
        return tools.arguments(item)
    return None


async def encode_chunks(
    info: Completion, items: AsyncIterable[StreamItem]
) -> AsyncGenerator[bytes, None]:
    """The whole SSE stream's frames. Empty deltas are dropped; a stream that ends without
    a terminal item ends with an error event, so ``[DONE]`` always follows an outcome.

    Reasoning text goes out as ``delta.reasoning_content`` (as DeepSeek and vLLM send it;
    signatures and redacted reasoning have no place in this dialect); each tool call as
    ``delta.tool_calls`` with its own ``index``, its ``id`` and name on its first delta."""
    tools = _ToolIndices()
    yield _event(chunk(info, {"role": "assistant", "content": ""}))
    async for item in items:
        if isinstance(item, Heartbeat):
            yield PING
        elif isinstance(item, TextDelta):
            if item.text:
                yield _event(chunk(info, {"content": item.text}))
        elif isinstance(item, Finish | Failure):
            for frame in _terminal_events(info, item):
                yield frame
            return
        else:
            delta = _content_delta(item, tools)
            if delta is not None:
                yield _event(chunk(info, delta))
    for frame in _terminal_events(info, Failure(LLMRelayError("the answer ended unexpectedly"))):
        yield frame


def _message(text: str, blocks: Sequence[Block]) -> dict[str, object]:
    message: dict[str, object] = {"role": "assistant", "content": text, "refusal": None}
    reasoning = "".join(b.text for b in blocks if isinstance(b, ReasoningBlock))
    if reasoning:
        message["reasoning_content"] = reasoning
    calls = [b for b in blocks if isinstance(b, ToolCall)]
    if calls:
        message["content"] = text or None
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in calls
        ]
    return message


def completion(
    info: Completion, text: str, finish: Finish, blocks: Sequence[Block] = ()
) -> dict[str, object]:
    """The batch answer: one ``chat.completion`` object (tool calls and reasoning too)."""
    info = _answered_by(info, finish)
    message = _message(text, blocks)
    return {
        "id": info.id,
        "object": "chat.completion",
        "created": info.meta.created,
        "model": info.meta.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": _FINISH_REASONS[finish.reason],
            }
        ],
        "usage": usage_object(finish.usage),
    }


def encode_completion(
    info: Completion, text: str, finish: Finish, blocks: Sequence[Block] = ()
) -> bytes:
    return json_text(completion(info, text, finish, blocks)).encode("utf-8", "replace")
