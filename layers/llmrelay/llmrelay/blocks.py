"""Building and gathering the block stream of :mod:`llmrelay.events`. Pure.

:class:`BlockWriter` is what a provider adapter writes through: it numbers blocks in the
order they open, opens a text or reasoning block when its first delta comes, closes the
sequential block (text or reasoning) when another kind begins, keys tool calls on whatever
the upstream uses to tell them apart (an index, an id), and closes every open block, with
its whole content, before the finish. Adapters so never count indices themselves, and two
parallel calls that an upstream numbers alike are still two blocks, as long as the adapter
gives them two keys.

:class:`BlockCollector` is the other end: the whole blocks of a stream, in order.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

from llmrelay.events import (
    Block,
    BlockEnd,
    BlockKind,
    BlockStart,
    ReasoningBlock,
    ReasoningDelta,
    StreamEvent,
    TextBlock,
    TextDelta,
    ToolCall,
    ToolCallDelta,
)

__all__ = ["BlockCollector", "BlockWriter"]


@dataclass(slots=True)
class _Open:
    index: int
    kind: BlockKind
    pieces: list[str] = field(default_factory=list)
    signature: list[str] = field(default_factory=list)
    redacted: list[str] = field(default_factory=list)
    id: str = ""
    name: str = ""

    def whole(self) -> Block:
        text = "".join(self.pieces)
        if self.kind == "text":
            return TextBlock(text)
        if self.kind == "reasoning":
            signature = "".join(self.signature) or None
            return ReasoningBlock(text, signature, "".join(self.redacted) or None)
        return ToolCall(self.id, self.name, text)


class BlockWriter:
    """Turns an upstream's deltas into block events (see the module's docstring). Each
    method returns the events to yield, in order."""

    def __init__(self) -> None:
        self._next = 0
        self._sequential: _Open | None = None  # the open text or reasoning block
        self._tools: dict[Hashable, _Open] = {}

    def _open(
        self, kind: BlockKind, call_id: str | None = None, name: str | None = None
    ) -> tuple[_Open, BlockStart]:
        block = _Open(self._next, kind, id=call_id or "", name=name or "")
        self._next += 1
        return block, BlockStart(block.index, kind, call_id, name)

    def _sequential_of(self, kind: BlockKind, events: list[StreamEvent]) -> _Open:
        current = self._sequential
        if current is not None and current.kind == kind:
            return current
        if current is not None:
            events.append(BlockEnd(current.index, current.whole()))
        current, start = self._open(kind)
        self._sequential = current
        events.append(start)
        return current

    def text(self, text: str) -> list[StreamEvent]:
        if not text:
            return []
        current = self._sequential
        if current is not None and current.kind == "text":  # the hot path: one more delta
            current.pieces.append(text)
            return [TextDelta(text, current.index)]
        events: list[StreamEvent] = []
        current = self._sequential_of("text", events)
        current.pieces.append(text)
        events.append(TextDelta(text, current.index))
        return events

    def reasoning(
        self, text: str = "", signature: str = "", redacted: str = ""
    ) -> list[StreamEvent]:
        if not (text or signature or redacted):
            return []
        events: list[StreamEvent] = []
        current = self._sequential_of("reasoning", events)
        if text:
            current.pieces.append(text)
        if signature:
            current.signature.append(signature)
        if redacted:
            current.redacted.append(redacted)
        events.append(ReasoningDelta(text, current.index, signature, redacted))
        return events

    def end_sequential(self) -> list[StreamEvent]:
        """Close the open text or reasoning block (the upstream said it ended)."""
        current, self._sequential = self._sequential, None
        return [] if current is None else [BlockEnd(current.index, current.whole())]

    def tool_start(self, key: Hashable, call_id: str, name: str) -> list[StreamEvent]:
        """Open the tool call known by ``key``; a key already open is closed first (an
        upstream that reuses one index for several calls starts a new one)."""
        events = self.tool_end(key)
        block, start = self._open("tool_call", call_id, name)
        self._tools[key] = block
        events.append(start)
        return events

    def tool_args(self, key: Hashable, fragment: str) -> list[StreamEvent]:
        block = self._tools.get(key)
        if block is None or not fragment:
            return []
        block.pieces.append(fragment)
        return [ToolCallDelta(fragment, block.index)]

    def tool_end(self, key: Hashable) -> list[StreamEvent]:
        block = self._tools.pop(key, None)
        return [] if block is None else [BlockEnd(block.index, block.whole())]

    def close(self) -> list[StreamEvent]:
        """End every open block, in the order they opened (before the ``Finish``)."""
        events = self.end_sequential()
        for key in list(self._tools):
            events.extend(self.tool_end(key))
        events.sort(key=lambda event: event.index if isinstance(event, BlockEnd) else -1)
        return events


class BlockCollector:
    """The whole blocks of a stream, in index order, from its ``BlockEnd`` events (and,
    for a stream cut short, from what its deltas had said)."""

    def __init__(self) -> None:
        self._ended: dict[int, Block] = {}
        self._partial: dict[int, _Open] = {}

    def add(self, event: StreamEvent) -> None:
        if isinstance(event, BlockEnd):
            self._ended[event.index] = event.block
            self._partial.pop(event.index, None)
        elif isinstance(event, BlockStart):
            self._partial[event.index] = _Open(
                event.index, event.kind, id=event.id or "", name=event.name or ""
            )
        elif isinstance(event, TextDelta | ToolCallDelta):
            block = self._partial.get(event.index)
            if block is not None:
                block.pieces.append(event.text if isinstance(event, TextDelta) else event.arguments)
        elif isinstance(event, ReasoningDelta):
            block = self._partial.get(event.index)
            if block is not None:
                block.pieces.append(event.text)
                block.signature.append(event.signature)
                block.redacted.append(event.redacted)

    def extend(self, events: Iterable[StreamEvent]) -> None:
        for event in events:
            self.add(event)

    def blocks(self) -> list[Block]:
        whole = dict(self._ended)
        whole.update((index, block.whole()) for index, block in self._partial.items())
        return [whole[index] for index in sorted(whole)]

    def text(self) -> str:
        return "".join(block.text for block in self.blocks() if isinstance(block, TextBlock))
