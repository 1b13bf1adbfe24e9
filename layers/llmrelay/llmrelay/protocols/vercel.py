"""The Vercel AI SDK's UI message stream protocol, v1 (``POST /api/chat``, for ``useChat``).

The shapes are those of the ``ai`` package's ``uiMessageChunkSchema``, in the order its
own ``streamText(...).toUIMessageStreamResponse()`` sends them; each is one SSE ``data:``
JSON object, and the response carries ``x-vercel-ai-ui-message-stream: v1``:

- ``start`` ``{messageId}``, ``start-step``;
- ``text-start`` ``{id}``, ``text-delta`` ``{id, delta}`` per piece, ``text-end`` ``{id}``;
- ``finish-step``, then ``finish`` ``{finishReason, messageMetadata: {model, usage}}``;
- or, on a failure after the first byte, ``error`` ``{errorText}`` (``useChat`` shows it
  as its ``error``), then ``finish-step`` and ``finish`` ``{finishReason: "error"}``;
- ``data: [DONE]`` last; ``: ping`` comments while the upstream is quiet.

Pure: bytes out, nothing written anywhere.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Mapping
from types import MappingProxyType
from typing import Final

from llmrelay.errors import LLMRelayError
from llmrelay.events import Failure, Finish, FinishReason, TextDelta, Usage
from llmrelay.protocols.base import Heartbeat, StreamItem, StreamMeta, json_text
from llmrelay.sse import PING, encode_event

__all__ = ["DONE", "UI_MESSAGE_STREAM_HEADERS", "encode_ui_message_stream", "usage_metadata"]

DONE: Final = encode_event("[DONE]")
UI_MESSAGE_STREAM_HEADERS: Final[Mapping[str, str]] = MappingProxyType(
    {"x-vercel-ai-ui-message-stream": "v1"}
)
_TEXT_ID: Final = "text-0"  # one text part per answer
_FINISH_REASONS: Final[Mapping[FinishReason, str]] = {
    "stop": "stop",
    "length": "length",
    "content_filter": "content-filter",
    "tool_calls": "tool-calls",
    "other": "other",
}


def _part(kind: str, **fields: object) -> bytes:
    return encode_event(json_text({"type": kind, **fields}))


def usage_metadata(model: str, usage: Usage) -> dict[str, object]:
    """``messageMetadata`` of ``finish``, with the AI SDK's own usage field names."""
    tokens = {
        "inputTokens": usage.input_tokens,
        "outputTokens": usage.output_tokens,
        "totalTokens": usage.total_tokens,
    }
    return {"model": model, "usage": tokens}


def _ending(meta: StreamMeta, item: Finish | Failure, text_open: bool) -> list[bytes]:
    frames = [_part("text-end", id=_TEXT_ID)] if text_open else []
    model = meta.model
    if isinstance(item, Failure):
        frames.append(_part("error", errorText=str(item.error)))
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
    """The whole stream's frames. The text part opens with the first non-empty delta; a
    stream that ends without a terminal item ends as a failure."""
    text_open = False
    yield _part("start", messageId=meta.id)
    yield _part("start-step")
    async for item in items:
        if isinstance(item, Heartbeat):
            yield PING
        elif isinstance(item, TextDelta):
            if item.text:
                if not text_open:
                    text_open = True
                    yield _part("text-start", id=_TEXT_ID)
                yield _part("text-delta", id=_TEXT_ID, delta=item.text)
        elif isinstance(item, Finish | Failure):
            for frame in _ending(meta, item, text_open):
                yield frame
            return
    for frame in _ending(meta, Failure(LLMRelayError("the answer ended unexpectedly")), text_open):
        yield frame
