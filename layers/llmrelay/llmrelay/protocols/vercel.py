"""The Vercel AI SDK's UI message stream protocol, v1 (``POST /api/chat``, for ``useChat``).

The shapes are those of the ``ai`` package's ``uiMessageChunkSchema``, in the order its
own ``streamText(...).toUIMessageStreamResponse()`` sends them; each is one SSE ``data:``
JSON object, and the response carries ``x-vercel-ai-ui-message-stream: v1``:

- ``start`` ``{messageId}``, ``start-step``;
- ``text-start`` ``{id}``, ``text-delta`` ``{id, delta}`` per piece, ``text-end`` ``{id}``;
- ``reasoning-start`` ``{id}``, ``reasoning-delta`` ``{id, delta}``, ``reasoning-end``
  ``{id, providerMetadata?}``: a signature or redacted reasoning rides in
  ``providerMetadata.llmrelay`` (``{signature?, redacted?}``), which ``useChat`` keeps on the
  reasoning part and sends back, so the next turn hands it to the provider unchanged;
- ``tool-input-start`` ``{toolCallId, toolName}``, ``tool-input-delta``
  ``{toolCallId, inputTextDelta}``, then ``tool-input-available`` ``{toolCallId, toolName,
  input}`` (or ``tool-input-error`` with ``errorText`` when the arguments are not JSON);
- ``finish-step``, then ``finish`` ``{finishReason, messageMetadata: {model, usage}}``
  (usage with the AI SDK's names, cache and reasoning details included);
- or, on a failure after the first byte, a transient ``data-llmrelay-error`` ``{data: {code,
  message, retryable}}`` (``useChat``'s ``onData`` sees it; it is not kept in the message),
  then ``error`` ``{errorText}`` with the human message (``useChat`` shows it as its
  ``error``), then ``finish-step`` and ``finish`` ``{finishReason: "error"}``;
- ``data: [DONE]`` last; ``: ping`` comments while the upstream is quiet.

Pure: bytes out, nothing written anywhere.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Mapping
from types import MappingProxyType
from typing import Final

from llmrelay.errors import LLMRelayError
from llmrelay.events import (
    BlockEnd,
    BlockStart,
    Failure,
    Finish,
    FinishReason,
    ReasoningBlock,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from llmrelay.protocols.base import Heartbeat, StreamItem, StreamMeta, json_text
from llmrelay.sse import PING, encode_event

__all__ = ["DONE", "UI_MESSAGE_STREAM_HEADERS", "encode_ui_message_stream", "usage_metadata"]

DONE: Final = encode_event("[DONE]")
UI_MESSAGE_STREAM_HEADERS: Final[Mapping[str, str]] = MappingProxyType(
    {"x-vercel-ai-ui-message-stream": "v1"}
)
_FINISH_REASONS: Final[Mapping[FinishReason, str]] = {
    "stop": "stop",
    "length": "length",
    "content_filter": "content-filter",
    "tool_calls": "tool-calls",
    "other": "other",
    "stopped": "other",
}


def _part(kind: str, **fields: object) -> bytes:
    return encode_event(json_text({"type": kind, **fields}))


def usage_metadata(model: str, usage: Usage) -> dict[str, object]:
    """``messageMetadata`` of ``finish``, with the AI SDK's own usage field names."""
    tokens: dict[str, object] = {
        "inputTokens": usage.input_tokens,
        "outputTokens": usage.output_tokens,
        "totalTokens": usage.total_tokens,
    }
    if usage.cache_read_tokens or usage.cache_write_tokens:
        tokens["inputTokenDetails"] = {
            "noCacheTokens": usage.input_tokens
            - usage.cache_read_tokens
            - usage.cache_write_tokens,
            "cacheReadTokens": usage.cache_read_tokens,
            "cacheWriteTokens": usage.cache_write_tokens,
        }
    if usage.reasoning_tokens:
        tokens["outputTokenDetails"] = {
            "textTokens": usage.output_tokens - usage.reasoning_tokens,
            "reasoningTokens": usage.reasoning_tokens,
        }
    return {"model": model, "usage": tokens}


class _Parts:
    """The UI parts of the answer's blocks: text and reasoning parts open with their first
    piece (an empty block makes none), tool parts with their start."""

    def __init__(self) -> None:
        self.open: dict[int, str] = {}  # block index -> the part's id, while it is open
        self.tools: dict[int, tuple[str, str]] = {}  # block index -> (call id, tool name)

    def _opened(self, index: int, kind: str) -> list[bytes]:
        if index in self.open:
            return []
        self.open[index] = part_id = f"{kind}-{index}"  # a text-only answer's is "text-0"
        return [_part(f"{kind}-start", id=part_id)]

    def frames(self, item: StreamEvent) -> list[bytes]:
        if isinstance(item, TextDelta):
            if not item.text:
                return []
            opened = self._opened(item.index, "text")
            return [*opened, _part("text-delta", id=self.open[item.index], delta=item.text)]
        if isinstance(item, ReasoningDelta):
            if not item.text:
                return []  # a signature or redacted fragment: the whole of it comes at the end
            opened = self._opened(item.index, "reasoning")
            return [*opened, _part("reasoning-delta", id=self.open[item.index], delta=item.text)]
        if isinstance(item, BlockStart):
            if item.kind != "tool_call":
                return []
            call = (item.id or f"call-{item.index}", item.name or "")
            self.tools[item.index] = call
            return [_part("tool-input-start", toolCallId=call[0], toolName=call[1])]
        if isinstance(item, ToolCallDelta):
            call_id = self.tools[item.index][0] if item.index in self.tools else None
            if call_id is None or not item.arguments:
                return []
            return [_part("tool-input-delta", toolCallId=call_id, inputTextDelta=item.arguments)]
        if isinstance(item, BlockEnd):
            return self._ended(item)
        return []

    def _ended(self, item: BlockEnd) -> list[bytes]:
        block = item.block
        if isinstance(block, ToolCall):
            call_id, name = self.tools.pop(item.index, (block.id, block.name))
            try:
                value = block.input()
            except ValueError:
                error = "the model's tool arguments are not JSON"
                return [
                    _part(
                        "tool-input-error",
                        toolCallId=call_id,
                        toolName=name,
                        input=block.arguments,
                        errorText=error,
                    )
                ]
            return [_part("tool-input-available", toolCallId=call_id, toolName=name, input=value)]
        if isinstance(block, ReasoningBlock) and (block.signature or block.redacted):
            opened = self._opened(item.index, "reasoning")  # redacted reasoning has no text
            opaque = {"signature": block.signature, "redacted": block.redacted}
            kept = {name: value for name, value in opaque.items() if value}
            part_id = self.open.pop(item.index)
            end = _part("reasoning-end", id=part_id, providerMetadata={"llmrelay": kept})
            return [*opened, end]
        if item.index not in self.open:
            return []  # an empty block made no part
        return [_part(f"{block.kind}-end", id=self.open.pop(item.index))]

    def close(self) -> list[bytes]:
        """The ends of the parts still open (a stream cut short leaves some)."""
        ends = [
            _part(f"{part_id.partition('-')[0]}-end", id=part_id) for part_id in self.open.values()
        ]
        self.open.clear()
        return ends


def _ending(meta: StreamMeta, item: Finish | Failure, parts: _Parts) -> list[bytes]:
    frames = parts.close()
    model = meta.model
    if isinstance(item, Failure):
        error = item.error
        # The code for the front end's code (``useChat``'s ``onData``; transient, so it is
        # not kept in the message), then the message for the person (``useChat``'s ``error``).
        frames.append(_part("data-llmrelay-error", data=error.to_dict(), transient=True))
        frames.append(_part("error", errorText=error.message))
        reason = "error"
    else:
        reason = _FINISH_REASONS[item.reason]
        model = item.model or model  # a fallback may have answered after the start
    metadata = usage_metadata(model, item.usage)
    frames += [_part("finish-step"), _part("finish", finishReason=reason, messageMetadata=metadata)]
    return [*frames, DONE]


async def encode_ui_message_stream(
    meta: StreamMeta, items: AsyncIterable[StreamItem]
) -> AsyncGenerator[bytes, None]:
    """The whole stream's frames. Each text part opens with its first non-empty
    delta; a stream that ends without a terminal item ends as a failure."""
    parts = _Parts()
    yield _part("start", messageId=meta.id)
    yield _part("start-step")
    async for item in items:
        if isinstance(item, Heartbeat):
            yield PING
        elif isinstance(item, Finish | Failure):
            for frame in _ending(meta, item, parts):
                yield frame
            return
        else:
            for frame in parts.frames(item):
                yield frame
    for frame in _ending(meta, Failure(LLMRelayError("the answer ended unexpectedly")), parts):
        yield frame


def error_ending(error: LLMRelayError) -> bytes:
    """The frames that end a stream with ``error`` when its own ending is not at hand (a
    resumed stream that cannot be read to its end): as :func:`encode_ui_message_stream`
    ends a failed answer."""
    frames = [
        _part("data-llmrelay-error", data=error.to_dict(), transient=True),
        _part("error", errorText=error.message),
        _part("finish-step"),
        _part("finish", finishReason="error"),
        DONE,
    ]
    return b"".join(frames)
