"""The output items of a streamed Responses answer, as its block events build them: each
event of llmrelay's stream becomes the Responses stream events that describe it (without
their ``sequence_number``, which :mod:`llmrelay.protocols.responses` adds). Pure.

A block opens its item when it starts, or with its first delta when the stream never said
it started; a tool call's fragments before its start have no item to go to and are left
out (as in the Chat Completions dialect). A block's end closes its item with the whole
block, ``completed``, as soon as anything follows it; the last one waits for the end of the
answer, since a ``max_output_tokens`` or ``content_filter`` stop cuts the block it ends
(OpenAI's item then says ``incomplete``). :meth:`OutputItems.close_all` closes it and every
item still open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

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
from llmrelay.protocols.responses_items import Status, item_id, output_item

__all__ = ["Event", "OutputItems"]

Event = dict[str, object]
_NO_LOGPROBS: Final[list[object]] = []


@dataclass(slots=True)
class _Item:
    position: int  # the item's output_index
    ident: str
    kind: BlockKind
    pieces: list[str] = field(default_factory=list)
    signature: list[str] = field(default_factory=list)
    redacted: list[str] = field(default_factory=list)
    call_id: str = ""
    name: str = ""
    summary_open: bool = False
    done: dict[str, object] | None = None  # the whole item, once closed

    def where(self) -> Event:
        return {"item_id": self.ident, "output_index": self.position}

    def so_far(self) -> Block:
        text = "".join(self.pieces)
        if self.kind == "text":
            return TextBlock(text)
        if self.kind == "reasoning":
            opaque = ("".join(self.signature) or None, "".join(self.redacted) or None)
            return ReasoningBlock(text, *opaque)
        return ToolCall(self.call_id, self.name, text)


def _text_part(text: str) -> Event:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _summary_part(text: str) -> Event:
    return {"type": "summary_text", "text": text}


class OutputItems:
    """The items of one answer, by block index, and the events that build them."""

    def __init__(self, answer_id: str) -> None:
        self._answer_id = answer_id
        self._items: dict[int, _Item] = {}
        self._order: list[_Item] = []
        self._ended: tuple[_Item, Block] | None = None  # the last block's end, not yet closed

    def output(self) -> list[dict[str, object]]:
        """The closed items, in order (for the terminal event's response)."""
        return [item.done for item in self._order if item.done is not None]

    def events(self, event: StreamEvent) -> list[Event]:
        if not isinstance(
            event, BlockStart | TextDelta | ReasoningDelta | ToolCallDelta | BlockEnd
        ):
            return []  # a Finish is the encoder's to handle (close_all)
        closed = self._close_ended("completed")  # something follows it: it was whole
        if isinstance(event, BlockStart):
            return [*closed, *self._open(event.index, event.kind, event.id, event.name)[1]]
        if isinstance(event, TextDelta):
            return [*closed, *self._text(event)] if event.text else closed
        if isinstance(event, ReasoningDelta):
            return [*closed, *self._reasoning(event)]
        if isinstance(event, ToolCallDelta):
            return [*closed, *self._arguments(event)]
        block = event.block
        call = (block.id, block.name) if isinstance(block, ToolCall) else (None, None)
        item, opened = self._open(event.index, block.kind, *call)
        if item.done is None and block.kind == item.kind:
            self._ended = (item, block)
        return [*closed, *opened]

    def close_all(self, status: Status, ended: Status) -> list[Event]:
        """Close the last ended block's item as ``ended`` says, then every item still open
        with what its deltas said, as ``status`` says."""
        events = self._close_ended(ended)
        for item in self._order:
            if item.done is None:
                events.extend(self._close(item, item.so_far(), status))
        return events

    def _close_ended(self, status: Status) -> list[Event]:
        if self._ended is None:
            return []
        (item, block), self._ended = self._ended, None
        return self._close(item, block, status)

    def _open(
        self, index: int, kind: BlockKind, call_id: str | None = None, name: str | None = None
    ) -> tuple[_Item, list[Event]]:
        known = self._items.get(index)
        if known is not None:
            return known, []
        position = len(self._order)
        ident = item_id(self._answer_id, kind, position)
        item = _Item(position, ident, kind, call_id=call_id or "", name=name or "")
        self._items[index] = item
        self._order.append(item)
        added: Event = {
            "type": "response.output_item.added",
            "output_index": position,
            "item": output_item(ident, item.so_far(), "in_progress"),
        }
        if kind != "text":
            return item, [added]
        part: Event = {"type": "response.content_part.added", **item.where(), "content_index": 0}
        return item, [added, {**part, "part": _text_part("")}]

    def _text(self, event: TextDelta) -> list[Event]:
        item, opened = self._open(event.index, "text")
        if item.kind != "text" or item.done is not None:
            return opened
        item.pieces.append(event.text)
        delta: Event = {"type": "response.output_text.delta", **item.where(), "content_index": 0}
        return [*opened, {**delta, "delta": event.text, "logprobs": _NO_LOGPROBS}]

    def _reasoning(self, event: ReasoningDelta) -> list[Event]:
        item, events = self._open(event.index, "reasoning")
        if item.kind != "reasoning" or item.done is not None:
            return events
        item.signature.append(event.signature)
        item.redacted.append(event.redacted)
        if not event.text:
            return events  # opaque data shows only in the whole item
        item.pieces.append(event.text)
        where = {**item.where(), "summary_index": 0}
        if not item.summary_open:
            item.summary_open = True
            added = {"type": "response.reasoning_summary_part.added", **where}
            events.append({**added, "part": _summary_part("")})
        events.append(
            {"type": "response.reasoning_summary_text.delta", **where, "delta": event.text}
        )
        return events

    def _arguments(self, event: ToolCallDelta) -> list[Event]:
        item = self._items.get(event.index)
        if item is None or item.kind != "tool_call" or item.done is not None:
            return []
        if not event.arguments:
            return []
        item.pieces.append(event.arguments)
        delta = {"type": "response.function_call_arguments.delta", **item.where()}
        return [{**delta, "delta": event.arguments}]

    def _close(self, item: _Item, block: Block, status: Status) -> list[Event]:
        if item.done is not None or block.kind != item.kind:
            return []
        item.done = output_item(item.ident, block, status)
        where = item.where()
        events: list[Event] = []
        if isinstance(block, TextBlock):
            text = {**where, "content_index": 0}
            events.append({"type": "response.output_text.done", **text, "text": block.text})
            events[-1]["logprobs"] = _NO_LOGPROBS
            part = {"type": "response.content_part.done", **text, "part": _text_part(block.text)}
            events.append(part)
        elif isinstance(block, ReasoningBlock) and item.summary_open:
            summary = {**where, "summary_index": 0}
            events.append({"type": "response.reasoning_summary_text.done", **summary})
            events[-1]["text"] = block.text
            part = {"type": "response.reasoning_summary_part.done", **summary}
            events.append({**part, "part": _summary_part(block.text)})
        elif isinstance(block, ToolCall):
            done = {"type": "response.function_call_arguments.done", **where, "name": block.name}
            events.append({**done, "arguments": block.arguments})
        events.append(
            {"type": "response.output_item.done", "output_index": item.position, "item": item.done}
        )
        return events
