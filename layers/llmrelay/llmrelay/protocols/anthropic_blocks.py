"""The content blocks of an Anthropic Messages stream, from the neutral block events.

Anthropic sends one block at a time: ``content_block_start``, its deltas, then
``content_block_stop``, the next block's index one more. The neutral stream may hold
several blocks open at once (parallel tool calls whose fragments interleave), so
:class:`Serializer` holds a later block's events back, in order, until the blocks before
it have ended; nothing is dropped or reordered within a block. :class:`BlockFrames` then
writes each event as Anthropic's frames:

- text: ``{"type": "text", "text": ""}``, then ``text_delta`` pieces;
- a tool call: ``{"type": "tool_use", "id", "name", "input": {}}``, then
  ``input_json_delta`` ``partial_json`` fragments, exactly the upstream's;
- reasoning: ``{"type": "thinking", "thinking": "", "signature": ""}``, then
  ``thinking_delta`` pieces and one ``signature_delta`` with the whole signature just
  before the block stops (the SDKs keep the last one they see); reasoning that is only
  redacted data is a ``redacted_thinking`` block with its ``data`` whole, and redacted
  data beside readable reasoning follows it as a block of its own.

A block known only from its deltas (an upstream that never said it started) opens with its
first delta; one known only from its end is written whole. Pure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Final

from llmrelay.events import (
    BlockEnd,
    BlockStart,
    ReasoningBlock,
    ReasoningDelta,
    TextBlock,
    TextDelta,
    ToolCall,
    ToolCallDelta,
)
from llmrelay.protocols.base import json_text
from llmrelay.sse import encode_event

__all__ = ["BlockEvent", "BlockFrames", "Serializer", "frame"]

BlockEvent = BlockStart | TextDelta | ReasoningDelta | ToolCallDelta | BlockEnd


# One more piece of the text on the wire: the frame ``frame("content_block_delta", ...)``
# makes, from parts made once (the hot path). JSON escapes every line break: one data line.
_TEXT_HEAD: Final = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":'
_TEXT_MID: Final = b',"delta":{"type":"text_delta","text":'
_TEXT_TAIL: Final = b"}}\n\n"
_json_string = json.JSONEncoder(ensure_ascii=False).encode


def frame(kind: str, **fields: object) -> bytes:
    """One Anthropic event: ``event: <kind>`` and ``data: {"type": <kind>, ...}``."""
    return encode_event(json_text({"type": kind, **fields}), event=kind)


class Serializer:
    """Block events in Anthropic's order: all of one block, then all of the next."""

    def __init__(self) -> None:
        self._order: list[int] = []  # blocks not yet ended, in the order they appeared
        self._held: dict[int, list[BlockEvent]] = {}

    @property
    def head(self) -> int | None:
        """The block whose events pass at once (``None`` before the first)."""
        return self._order[0] if self._order else None

    def feed(self, event: BlockEvent) -> list[BlockEvent]:
        index = event.index
        if index not in self._held:
            self._order.append(index)
            self._held[index] = []
        if index != self._order[0]:
            self._held[index].append(event)
            return []
        released: list[BlockEvent] = [event]
        # The block on the wire ended: release the next one's events, and so on.
        while isinstance(released[-1], BlockEnd) and released[-1].index == self._order[0]:
            del self._held[self._order.pop(0)]
            if self._order:
                released += self._held[self._order[0]]
                self._held[self._order[0]] = []
            else:
                break
        return released

    def drain(self) -> list[BlockEvent]:
        """Everything held back, block by block (the stream is ending)."""
        events = [event for index in self._order for event in self._held[index]]
        self._order, self._held = [], {}
        return events


@dataclass(slots=True)
class _Open:
    """The block on the wire: the neutral block it writes, its Anthropic index and type,
    and what it holds back until it stops (the signature, redacted data)."""

    source: int
    index: int
    kind: str
    signature: list[str] = field(default_factory=list)
    redacted: list[str] = field(default_factory=list)


def _thinking_start() -> dict[str, object]:
    return {"type": "thinking", "thinking": "", "signature": ""}


class BlockFrames:
    """Anthropic's frames for serialized block events (:class:`Serializer`)."""

    def __init__(self) -> None:
        self._next = 0
        self._open: _Open | None = None

    def _start(self, source: int, kind: str, block: dict[str, object]) -> bytes:
        self._open = _Open(source, self._next, kind)
        self._next += 1
        return frame("content_block_start", index=self._open.index, content_block=block)

    def _delta(self, delta: dict[str, object]) -> bytes:
        assert self._open is not None
        return frame("content_block_delta", index=self._open.index, delta=delta)

    def _stop(self) -> list[bytes]:
        current = self._open
        if current is None:
            return []
        if current.kind == "redacted":  # only redacted data: written whole, now
            self._open = None
            return self._redacted(current.source, "".join(current.redacted))
        frames: list[bytes] = []
        if current.signature:
            signature = "".join(current.signature)
            frames.append(self._delta({"type": "signature_delta", "signature": signature}))
        self._open = None
        frames.append(frame("content_block_stop", index=current.index))
        if current.redacted:
            frames += self._redacted(current.source, "".join(current.redacted))
        return frames

    def _redacted(self, source: int, data: str) -> list[bytes]:
        start = self._start(
            source, "redacted_thinking", {"type": "redacted_thinking", "data": data}
        )
        self._open = None
        return [start, frame("content_block_stop", index=self._next - 1)]

    def _opened(self, source: int, kind: str, call: BlockStart | None = None) -> list[bytes]:
        """Open a block of ``kind`` for block ``source`` unless it is open."""
        if self._open is not None:
            return []
        if kind == "text":
            return [self._start(source, kind, {"type": "text", "text": ""})]
        if kind == "thinking":
            return [self._start(source, kind, _thinking_start())]
        call_id, name = (call.id, call.name) if call is not None else ("", "")
        block: dict[str, object] = {"type": "tool_use", "id": call_id or "", "name": name or ""}
        return [self._start(source, kind, {**block, "input": {}})]

    def text(self, event: TextDelta) -> bytes | None:
        """The frame of one more piece of the text block on the wire, or ``None`` when the
        piece needs :meth:`frames` (another block is open, or none, or the piece is empty)."""
        current = self._open
        if current is None or current.kind != "text" or current.source != event.index:
            return None
        if not event.text:
            return None
        text = _json_string(event.text).encode("utf-8", "replace")
        return b"".join((_TEXT_HEAD, str(current.index).encode(), _TEXT_MID, text, _TEXT_TAIL))

    def frames(self, event: BlockEvent) -> list[bytes]:
        # Another block's event: the one on the wire is over (even if it never said so).
        frames = self._stop() if self._open and self._open.source != event.index else []
        if isinstance(event, BlockStart):
            if event.kind != "reasoning":  # reasoning waits for its first delta
                kind = "text" if event.kind == "text" else "tool_use"
                frames += self._opened(event.index, kind, event)
        elif isinstance(event, TextDelta) and event.text:
            frames += self._opened(event.index, "text")
            frames.append(self._delta({"type": "text_delta", "text": event.text}))
        elif isinstance(event, ToolCallDelta) and event.arguments:
            frames += self._opened(event.index, "tool_use")
            frames.append(
                self._delta({"type": "input_json_delta", "partial_json": event.arguments})
            )
        elif isinstance(event, ReasoningDelta):
            frames += self._reasoning(event)
        elif isinstance(event, BlockEnd):
            frames += self._stop() if self._open is not None else self._whole(event)
        return frames

    def _reasoning(self, event: ReasoningDelta) -> list[bytes]:
        frames: list[bytes] = []
        current = self._open
        readable = bool(event.text or event.signature)
        if current is None and readable:
            frames += self._opened(event.index, "thinking")
        elif current is None and event.redacted:
            self._open = _Open(event.index, -1, "redacted")
        elif current is not None and current.kind == "redacted" and readable:
            self._open = None  # readable after all: its redacted data goes after it
            frames += self._opened(event.index, "thinking")
            self._carry(current.redacted)
        current = self._open
        if current is None:
            return frames
        if event.text:
            frames.append(self._delta({"type": "thinking_delta", "thinking": event.text}))
        if event.signature:
            current.signature.append(event.signature)
        if event.redacted:
            current.redacted.append(event.redacted)
        return frames

    def _carry(self, redacted: list[str]) -> None:
        assert self._open is not None
        self._open.redacted = redacted

    def _whole(self, event: BlockEnd) -> list[bytes]:
        """A block that arrives only as its end, written whole."""
        block, source = event.block, event.index
        if isinstance(block, TextBlock):
            return (
                self.frames(TextDelta(block.text, source))
                + self._opened(source, "text")
                + self._stop()
            )
        if isinstance(block, ToolCall):
            frames = self._opened(
                source, "tool_use", BlockStart(source, "tool_call", block.id, block.name)
            )
            return frames + self.frames(ToolCallDelta(block.arguments, source)) + self._stop()
        assert isinstance(block, ReasoningBlock)
        delta = ReasoningDelta(block.text, source, block.signature or "", block.redacted or "")
        return self._reasoning(delta) + self._stop()

    def close(self) -> list[bytes]:
        """Stop the block still open (a stream whose last block never said it ended)."""
        return self._stop()
