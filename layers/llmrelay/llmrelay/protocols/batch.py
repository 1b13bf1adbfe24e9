"""Batch mode: the whole answer as one JSON document, and the JSON error shape.

Answer: ``{"id", "model", "text", "finish_reason", "usage": {"input_tokens",
"output_tokens"}}``. Error: ``{"error": {"code", "message", "retryable", ["retry_after"]}}``,
sent with the error's own HTTP status. Pure: bytes in, bytes out.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass

from llmrelay.blocks import BlockCollector
from llmrelay.errors import LLMRelayError
from llmrelay.events import Block, Failure, Finish, ReasoningBlock, TextBlock, TextDelta
from llmrelay.protocols.base import (
    Heartbeat,
    StreamItem,
    StreamMeta,
    Terminal,
    error_dict,
    json_text,
    usage_dict,
)

__all__ = ["Answer", "block_dict", "collect", "encode_answer", "encode_error"]


@dataclass(frozen=True, slots=True)
class Answer:
    """The text gathered from a stream, how the stream ended, and all its blocks."""

    text: str
    outcome: Terminal
    blocks: tuple[Block, ...] = ()


async def collect(items: AsyncIterable[StreamItem]) -> Answer:
    """Join the deltas up to the terminal item (heartbeats are ignored)."""
    pieces: list[str] = []
    blocks = BlockCollector()
    async for item in items:
        if isinstance(item, TextDelta):
            pieces.append(item.text)
            blocks.add(item)
        elif isinstance(item, Finish | Failure):
            return Answer("".join(pieces), item, tuple(blocks.blocks()))
        elif not isinstance(item, Heartbeat):
            blocks.add(item)
    failure = Failure(LLMRelayError("the answer ended unexpectedly"))
    return Answer("".join(pieces), failure, tuple(blocks.blocks()))


def block_dict(block: Block) -> dict[str, object]:
    """A whole block as JSON: ``{"type": "text" | "reasoning" | "tool_call", ...}``."""
    if isinstance(block, TextBlock):
        return {"type": "text", "text": block.text}
    if isinstance(block, ReasoningBlock):
        body: dict[str, object] = {"type": "reasoning", "text": block.text}
        if block.signature is not None:
            body["signature"] = block.signature
        if block.redacted is not None:
            body["redacted"] = block.redacted
        return body
    return {"type": "tool_call", "id": block.id, "name": block.name, "arguments": block.arguments}


def encode_answer(
    meta: StreamMeta, text: str, finish: Finish, blocks: Sequence[Block] = ()
) -> bytes:
    document: dict[str, object] = {
        "id": meta.id,
        "model": meta.model,
        "text": text,
        "finish_reason": finish.reason,
        "usage": usage_dict(finish.usage),
    }
    if any(not isinstance(block, TextBlock) for block in blocks):
        # Beyond text, every block in order (reasoning with its signature, tool calls).
        document["blocks"] = [block_dict(block) for block in blocks]
    return json_text(document).encode("utf-8", "replace")


def encode_error(error: LLMRelayError) -> bytes:
    return json_text({"error": error_dict(error)}).encode("utf-8", "replace")
