"""What every client dialect encodes: the gateway's stream of items and the answer's metadata.

The gateway's stream never raises: block events, ``Heartbeat`` items when the
upstream is quiet, then exactly one terminal item, ``Finish`` or ``Failure``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from llmrelay.errors import LLMRelayError
from llmrelay.events import Failure, Finish, StreamEvent, Usage

__all__ = [
    "Heartbeat",
    "StreamItem",
    "StreamMeta",
    "Terminal",
    "Timings",
    "error_dict",
    "json_text",
    "usage_dict",
]


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Nothing arrived for a while: a dialect may send a keep-alive (SSE: ``: ping``)."""


Terminal = Finish | Failure
StreamItem = StreamEvent | Heartbeat | Failure


@dataclass(frozen=True, slots=True)
class StreamMeta:
    """Known before the first byte: who answers, and under which id."""

    id: str
    provider: str
    model: str  # the full ``provider/model`` string
    created: int  # Unix seconds
    stream_id: str | None = None  # a durable stream's id (resume and stop it by this)


@dataclass(frozen=True, slots=True)
class Timings:
    """Milliseconds from the request's arrival to the first text and to the end."""

    ttft_ms: int | None
    total_ms: int

    @classmethod
    def between(cls, started: float, first_text: float | None, ended: float) -> Timings:
        ttft = None if first_text is None else round((first_text - started) * 1000)
        return cls(ttft_ms=ttft, total_ms=round((ended - started) * 1000))

    def to_dict(self) -> dict[str, int | None]:
        return {"ttft_ms": self.ttft_ms, "total_ms": self.total_ms}


_USAGE_DETAILS = ("cache_read_tokens", "cache_write_tokens", "reasoning_tokens")


def usage_dict(usage: Usage) -> dict[str, int]:
    """``input_tokens`` and ``output_tokens``, and each of ``cache_read_tokens``,
    ``cache_write_tokens`` and ``reasoning_tokens`` that is not zero (OpenAI's meaning:
    they are parts of the first two)."""
    body = {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens}
    for name in _USAGE_DETAILS:
        count: int = getattr(usage, name)
        if count:
            body[name] = count
    return body


def error_dict(error: LLMRelayError) -> dict[str, object]:
    """``code``, ``message``, ``retryable`` and, when known and finite, ``retry_after``."""
    body = error.to_dict()
    retry_after = body.get("retry_after")
    if isinstance(retry_after, float | int) and not math.isfinite(retry_after):
        del body["retry_after"]
    return body


def json_text(value: object) -> str:
    """Compact JSON, non-ASCII kept as is (the wire is UTF-8)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
