"""The native ``POST /chat`` dialect: Server-Sent Events, each ``event:`` + one JSON ``data:``.

- ``meta`` first: ``{"id", "provider", "model", "created"}``
- ``delta`` for each piece of text: ``{"text"}``
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
from llmrelay.events import Failure, Finish, TextDelta
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
from llmrelay.sse import PING, encode_event

__all__ = ["delta_event", "done_event", "encode_native", "error_event", "meta_event"]


def meta_event(meta: StreamMeta) -> bytes:
    payload = {
        "id": meta.id,
        "provider": meta.provider,
        "model": meta.model,
        "created": meta.created,
    }
    return encode_event(json_text(payload), event="meta")


# Every chunk's frame: the same as ``encode_event(json_text({"text": text}), event="delta")``,
# built from parts made once. JSON escapes every line break, so the data is one line.
_DELTA_HEAD = b'event: delta\ndata: {"text":'
_DELTA_TAIL = b"}\n\n"
_json_string = json.JSONEncoder(ensure_ascii=False).encode


def delta_event(text: str) -> bytes:
    return _DELTA_HEAD + _json_string(text).encode("utf-8", "replace") + _DELTA_TAIL


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
                yield delta_event(item.text)
        elif isinstance(item, Finish | Failure):
            yield _terminal_event(item, Timings.between(started, first_text, clock()), meta.model)
            return
    yield error_event(Failure(LLMRelayError("the answer ended unexpectedly")))
