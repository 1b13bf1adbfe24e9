"""Batch mode: the whole answer as one JSON document, and the JSON error shape.

Answer: ``{"id", "model", "text", "finish_reason", "usage": {"input_tokens",
"output_tokens"}}``. Error: ``{"error": {"code", "message", "retryable", ["retry_after"]}}``,
sent with the error's own HTTP status. Pure: bytes in, bytes out.
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from dataclasses import dataclass

from llmrelay.errors import LLMRelayError
from llmrelay.events import Failure, Finish, TextDelta
from llmrelay.protocols.base import (
    StreamItem,
    StreamMeta,
    Terminal,
    error_dict,
    json_text,
    usage_dict,
)

__all__ = ["Answer", "collect", "encode_answer", "encode_error"]


@dataclass(frozen=True, slots=True)
class Answer:
    """The text gathered from a stream, and how the stream ended."""

    text: str
    outcome: Terminal


async def collect(items: AsyncIterable[StreamItem]) -> Answer:
    """Join the deltas up to the terminal item (heartbeats are ignored)."""
    pieces: list[str] = []
    async for item in items:
        if isinstance(item, TextDelta):
            pieces.append(item.text)
        elif isinstance(item, Finish | Failure):
            return Answer("".join(pieces), item)
    return Answer("".join(pieces), Failure(LLMRelayError("the answer ended unexpectedly")))


def encode_answer(meta: StreamMeta, text: str, finish: Finish) -> bytes:
    document = {
        "id": meta.id,
        "model": meta.model,
        "text": text,
        "finish_reason": finish.reason,
        "usage": usage_dict(finish.usage),
    }
    return json_text(document).encode("utf-8", "replace")


def encode_error(error: LLMRelayError) -> bytes:
    return json_text({"error": error_dict(error)}).encode("utf-8", "replace")
