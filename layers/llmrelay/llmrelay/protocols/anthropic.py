"""The Anthropic Messages dialect (``POST /v1/messages``): what the ``anthropic`` SDKs read.

Streaming, each SSE event named by its ``type`` (``event: message_start`` with
``data: {"type": "message_start", ...}``), in Anthropic's order:

- ``message_start`` with the ``message`` (``id``, ``model``, empty ``content``, null
  ``stop_reason``, and zero usage: the neutral stream tells its usage only at its end);
- each block, one at a time: ``content_block_start``, ``content_block_delta``s,
  ``content_block_stop`` (text, ``tool_use``, ``thinking`` with its ``signature_delta``,
  ``redacted_thinking``; see :mod:`llmrelay.protocols.anthropic_blocks`);
- ``message_delta`` with ``stop_reason`` (``end_turn``, ``tool_use``, ``max_tokens``,
  ``refusal``, or ``stop_sequence`` with the ``stop_sequence`` when the upstream said which
  one it met) and the whole usage, then ``message_stop``;
- ``ping`` events while the upstream is quiet;
- a failure after the first byte: one ``error`` event (the SDKs raise it), and the end.

Usage follows Anthropic's convention: ``input_tokens`` excludes the
``cache_read_input_tokens`` and ``cache_creation_input_tokens`` reported beside it;
``output_tokens`` includes reasoning (``output_tokens_details.thinking_tokens``).

Batch: one ``message`` object. Errors: ``{"type": "error", "error": {"type", "message",
"details": {"error_code"}}}``, where ``type`` is Anthropic's for the HTTP status and
``error_code`` llmrelay's stable code (the SDK's ``APIStatusError.error_code``). Pure.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Mapping, Sequence
from typing import Final

from llmrelay.errors import LLMRelayError
from llmrelay.events import (
    Block,
    BlockEnd,
    BlockStart,
    Failure,
    Finish,
    FinishReason,
    ReasoningBlock,
    ReasoningDelta,
    TextBlock,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from llmrelay.protocols.anthropic_blocks import BlockFrames, Serializer, frame
from llmrelay.protocols.base import Heartbeat, StreamItem, StreamMeta, json_text

__all__ = [
    "PING",
    "encode_error",
    "encode_message",
    "encode_messages_stream",
    "error_object",
    "message",
    "message_id",
    "stop_reason",
    "usage_object",
]

PING: Final = frame("ping")
_STOP_REASONS: Final[Mapping[FinishReason, str]] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "content_filter": "refusal",
    "tool_calls": "tool_use",
    "other": "end_turn",
    "stopped": "end_turn",
}
# Anthropic's error ``type`` by HTTP status (its SDKs pick the exception class by status).
_ERROR_TYPES: Final[Mapping[int, str]] = {
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


def message_id(meta: StreamMeta) -> str:
    return f"msg_{meta.id}"


def stop_reason(finish: Finish) -> tuple[str, str | None]:
    """Anthropic's ``stop_reason`` and ``stop_sequence`` for how the answer finished."""
    if finish.reason == "stop" and finish.stop_sequence is not None:
        return "stop_sequence", finish.stop_sequence
    return _STOP_REASONS[finish.reason], None


def usage_object(usage: Usage) -> dict[str, object]:
    """Anthropic's usage: input without the cache counts, which are reported beside it."""
    cached = usage.cache_read_tokens + usage.cache_write_tokens
    body: dict[str, object] = {
        "input_tokens": max(usage.input_tokens - cached, 0),
        "output_tokens": usage.output_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cache_read_tokens,
    }
    if usage.reasoning_tokens:
        body["output_tokens_details"] = {"thinking_tokens": usage.reasoning_tokens}
    return body


def error_object(error: LLMRelayError) -> dict[str, object]:
    status = error.status
    kind = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    detail = {"type": kind, "message": error.message, "details": {"error_code": error.code}}
    return {"type": "error", "error": detail}


def encode_error(error: LLMRelayError) -> bytes:
    return json_text(error_object(error)).encode("utf-8", "replace")


def _start(meta: StreamMeta) -> bytes:
    message: dict[str, object] = {
        "id": message_id(meta),
        "type": "message",
        "role": "assistant",
        "model": meta.model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 0, "output_tokens": 0},
    }
    return frame("message_start", message=message)


def _ending(item: Finish | Failure, blocks: BlockFrames, serializer: Serializer) -> list[bytes]:
    if isinstance(item, Failure):
        return [frame("error", error=error_object(item.error)["error"])]
    frames: list[bytes] = []
    for event in serializer.drain():
        frames += blocks.frames(event)
    reason, sequence = stop_reason(item)
    delta = {"stop_reason": reason, "stop_sequence": sequence}
    frames += blocks.close()
    frames.append(frame("message_delta", delta=delta, usage=usage_object(item.usage)))
    return [*frames, frame("message_stop")]


async def encode_messages_stream(
    meta: StreamMeta, items: AsyncIterable[StreamItem]
) -> AsyncGenerator[bytes, None]:
    """The whole stream's frames; a stream that ends without a terminal item ends with an
    ``error`` event, so the client always sees ``message_stop`` or ``error`` last."""
    serializer, blocks = Serializer(), BlockFrames()
    yield _start(meta)
    async for item in items:
        if isinstance(item, TextDelta) and serializer.head == item.index:
            fast = blocks.text(item)  # the hot path: one more piece of the open text block
            if fast is not None:
                yield fast
                continue
        if isinstance(item, Heartbeat):
            yield PING
        elif isinstance(item, Finish | Failure):
            for data in _ending(item, blocks, serializer):
                yield data
            return
        elif isinstance(item, BlockStart | TextDelta | ReasoningDelta | ToolCallDelta | BlockEnd):
            for event in serializer.feed(item):
                for data in blocks.frames(event):
                    yield data
    failure = Failure(LLMRelayError("the answer ended unexpectedly"))
    for data in _ending(failure, blocks, serializer):
        yield data


def _content(block: Block) -> list[dict[str, object]]:
    if isinstance(block, TextBlock):
        return [{"type": "text", "text": block.text}]
    if isinstance(block, ReasoningBlock):
        content: list[dict[str, object]] = []
        if block.text or block.signature or not block.redacted:
            signature = block.signature or ""
            content.append({"type": "thinking", "thinking": block.text, "signature": signature})
        if block.redacted:
            content.append({"type": "redacted_thinking", "data": block.redacted})
        return content
    try:
        arguments: object = block.input()
    except ValueError:
        arguments = None
    if not isinstance(arguments, dict):
        # Not a JSON object: passed on as the upstream sent it (the stream's input_json_delta
        # fragments do the same), never replaced by an empty input.
        arguments = block.arguments
    return [{"type": "tool_use", "id": block.id, "name": block.name, "input": arguments}]


def message(
    meta: StreamMeta, text: str, finish: Finish, blocks: Sequence[Block] = ()
) -> dict[str, object]:
    """The batch answer: one ``message`` object with every block (a tool call whose
    arguments are not a JSON object has them, as text, for its ``input``)."""
    reason, sequence = stop_reason(finish)
    whole = list(blocks)
    if text and not any(isinstance(block, TextBlock) for block in whole):
        whole.insert(0, TextBlock(text))  # text from deltas that named no block
    return {
        "id": message_id(meta),
        "type": "message",
        "role": "assistant",
        "model": finish.model or meta.model,
        "content": [part for block in whole for part in _content(block)],
        "stop_reason": reason,
        "stop_sequence": sequence,
        "usage": usage_object(finish.usage),
    }


def encode_message(
    meta: StreamMeta, text: str, finish: Finish, blocks: Sequence[Block] = ()
) -> bytes:
    return json_text(message(meta, text, finish, blocks)).encode("utf-8", "replace")
