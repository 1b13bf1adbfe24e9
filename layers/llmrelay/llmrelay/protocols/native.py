"""The native ``POST /chat`` dialect: Server-Sent Events, each ``event:`` + one JSON ``data:``.

- ``meta`` first: ``{"id", "provider", "model", "created"}``, and ``"stream_id"`` for a
  durable stream (then every event has an SSE ``id:``, see :mod:`llmrelay.durable`)
- ``delta`` for each piece of text: ``{"text"}``, with ``"index"`` when the text is not the
  answer's first block (an answer may hold several text blocks, between tool calls)
- beyond text, each reasoning or tool-call block is ``block_start`` ``{"index", "type",
  ["id", "name"]}``, its pieces, then ``block_end`` ``{"index", "block"}`` with all of it
  (the batch answer's block shape: signature and redacted data byte-exact). The pieces are
  ``reasoning`` ``{"index", "text"}`` (or a ``"signature"`` / ``"redacted"`` fragment) and
  ``tool_input`` ``{"index", "arguments"}`` (JSON fragments that concatenate). Text blocks
  have no ``block_start`` / ``block_end``: a text-only stream is ``meta``, ``delta``s, ``done``.
- exactly one terminal event, then the stream ends:
  ``done`` ``{"finish_reason", "usage": {"input_tokens", "output_tokens"},
  "timings": {"ttft_ms", "total_ms"}, "model"}``, or
  ``error`` ``{"code", "message", "retryable", ["retry_after"], "usage"}``
- ``: ping`` comments while the upstream is quiet (clients ignore them).

Pure: the clock is injected, nothing is written anywhere.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncGenerator, AsyncIterable, Callable

from llmrelay.errors import LLMRelayError
from llmrelay.events import (
    BlockEnd,
    BlockStart,
    Failure,
    Finish,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
)
from llmrelay.protocols.base import (
    Heartbeat,
    StreamItem,
    StreamMeta,
    Terminal,
    Timings,
    error_dict,
    json_text,
    usage_dict,
)
from llmrelay.protocols.batch import block_dict
from llmrelay.sse import PING, encode_event

__all__ = [
    "block_event",
    "delta_event",
    "done_event",
    "encode_native",
    "error_event",
    "meta_event",
]


def meta_event(meta: StreamMeta) -> bytes:
    payload: dict[str, object] = {
        "id": meta.id,
        "provider": meta.provider,
        "model": meta.model,
        "created": meta.created,
    }
    if meta.stream_id is not None:
        payload["stream_id"] = meta.stream_id
    return encode_event(json_text(payload), event="meta")


# Every chunk's frame: the same as ``encode_event(json_text({"text": text}), event="delta")``,
# built from parts made once. JSON escapes every line break, so the data is one line.
_DELTA_HEAD = b'event: delta\ndata: {"text":'
_DELTA_TAIL = b"}\n\n"
_json_string = json.JSONEncoder(ensure_ascii=False).encode


def delta_event(text: str) -> bytes:
    return _DELTA_HEAD + _json_string(text).encode("utf-8", "replace") + _DELTA_TAIL


def _event(name: str, payload: dict[str, object]) -> bytes:
    return encode_event(json_text(payload), event=name)


def block_event(item: BlockStart | ReasoningDelta | ToolCallDelta | BlockEnd) -> bytes | None:
    """The frame of a block event other than text, or ``None`` when it has none to send
    (a text block's start and end; an empty piece)."""
    if isinstance(item, ReasoningDelta):
        piece = {"text": item.text, "signature": item.signature, "redacted": item.redacted}
        fields = {name: value for name, value in piece.items() if value}
        return _event("reasoning", {"index": item.index, **fields}) if fields else None
    if isinstance(item, ToolCallDelta):
        if not item.arguments:
            return None
        return _event("tool_input", {"index": item.index, "arguments": item.arguments})
    if isinstance(item, BlockStart):
        if item.kind == "text":
            return None
        start: dict[str, object] = {"index": item.index, "type": item.kind}
        if item.kind == "tool_call":
            start.update(id=item.id or "", name=item.name or "")
        return _event("block_start", start)
    if item.block.kind == "text":
        return None
    return _event("block_end", {"index": item.index, "block": block_dict(item.block)})


def done_event(finish: Finish, timings: Timings, model: str) -> bytes:
    payload = {
        "finish_reason": finish.reason,
        "usage": usage_dict(finish.usage),
        "timings": timings.to_dict(),
        "model": model,
    }
    return encode_event(json_text(payload), event="done")


def error_event(failure: Failure) -> bytes:
    payload = {**error_dict(failure.error), "usage": usage_dict(failure.usage)}
    return encode_event(json_text(payload), event="error")


def _terminal_event(item: Terminal, timings: Timings, model: str) -> bytes:
    if isinstance(item, Finish):
        # The finish knows best: a fallback may have answered after ``meta`` went out.
        return done_event(item, timings, item.model or model)
    return error_event(item)


async def encode_native(
    meta: StreamMeta,
    items: AsyncIterable[StreamItem],
    *,
    started: float,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncGenerator[bytes, None]:
    """The whole stream's frames: ``meta``, then one frame per item up to the terminal one.

    ``started`` is the request's arrival on ``clock``. Empty deltas are dropped. Should
    ``items`` end without a terminal item, an ``error`` event is made up, so the client
    always sees exactly one ``done`` or ``error``.
    """
    first_text: float | None = None
    yield meta_event(meta)
    async for item in items:
        if isinstance(item, Heartbeat):
            yield PING
        elif isinstance(item, TextDelta):
            if item.text:
                first_text = clock() if first_text is None else first_text
                if item.index:
                    yield _event("delta", {"text": item.text, "index": item.index})
                else:
                    yield delta_event(item.text)
        elif isinstance(item, BlockStart | ReasoningDelta | ToolCallDelta | BlockEnd):
            frame = block_event(item)
            if frame is not None:
                if first_text is None and isinstance(item, ReasoningDelta | ToolCallDelta):
                    first_text = clock()  # the first token need not be text
                yield frame
        elif isinstance(item, Finish | Failure):
            yield _terminal_event(item, Timings.between(started, first_text, clock()), meta.model)
            return
    yield error_event(Failure(LLMRelayError("the answer ended unexpectedly")))
