"""Anthropic's streamed Messages events into block events. Pure.

Read from the raw events of ``messages.create(stream=True)`` (``ping`` is skipped, as are
the derived ``text`` / ``thinking`` / ``input_json`` / ``signature`` copies that the SDK's
``messages.stream`` helper would add):

- ``content_block_start`` opens upstream block ``index``: ``text``; ``thinking`` (its
  ``thinking_delta`` pieces, then its ``signature_delta``: one reasoning block, signature
  byte-exact); ``redacted_thinking`` (its ``data`` whole, as the block's ``redacted``);
  ``tool_use`` (``id``, ``name``; its ``input_json_delta`` fragments are the arguments).
  Anthropic numbers every block of the message, so each tool call keys on its own upstream
  index and parallel calls are never merged. Other block kinds (server tools, which
  llmrelay never asks for) carry nothing llmrelay can hand on and are skipped;
- ``content_block_stop`` closes the block, so two text blocks stay two blocks;
- ``message_start`` and ``message_delta`` carry the usage, cumulative (each count
  overwrites, never adds), and ``message_delta`` the ``stop_reason``.

Anthropic's ``input_tokens`` leaves out the cached tokens; llmrelay's :class:`Usage` counts
them in (``cache_read_input_tokens`` + ``cache_creation_input_tokens``, which are also its
``cache_read_tokens`` and ``cache_write_tokens``), and ``output_tokens_details`` gives the
``reasoning_tokens``.

``json_tool`` names the tool that a ``json_object`` response format forced (see
:mod:`llmrelay.providers.anthropic_params`): its input streams out as text, and its
``tool_use`` stop is an ordinary ``stop``.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Final

from llmrelay.blocks import BlockWriter
from llmrelay.errors import UpstreamUnavailable
from llmrelay.events import Finish, FinishReason, StreamEvent, Usage
from llmrelay.providers.errormap import upstream_message

__all__ = ["events_from_stream", "finish_reason", "usage_of"]

_FINISH_REASONS: Final[dict[str, FinishReason]] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    # The answer stopped because the context window is full: cut short, like max_tokens.
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
    "tool_use": "tool_calls",
}
_USAGE_FIELDS: Final = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
)


def finish_reason(stop_reason: str | None) -> FinishReason:
    """The neutral finish reason for Anthropic's ``stop_reason`` (``other`` when unknown)."""
    return _FINISH_REASONS.get(stop_reason or "", "other")


def _int(obj: object, name: str) -> int | None:
    value = getattr(obj, name, None)
    return value if isinstance(value, int) else None


class _Totals:
    """Anthropic's usage so far: each report overwrites the counts it carries."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def update(self, usage: object) -> None:
        for name in _USAGE_FIELDS:
            value = _int(usage, name)
            if value is not None:
                self.counts[name] = value
        thinking = _int(getattr(usage, "output_tokens_details", None), "thinking_tokens")
        if thinking is not None:
            self.counts["thinking_tokens"] = thinking

    def usage(self) -> Usage:
        counts = self.counts.get
        read, write = counts("cache_read_input_tokens", 0), counts("cache_creation_input_tokens", 0)
        return Usage(
            input_tokens=counts("input_tokens", 0) + read + write,
            output_tokens=counts("output_tokens", 0),
            cache_read_tokens=read,
            cache_write_tokens=write,
            reasoning_tokens=counts("thinking_tokens", 0),
        )


def usage_of(usage: object) -> Usage:
    """The neutral usage of one Anthropic ``usage`` object."""
    totals = _Totals()
    totals.update(usage)
    return totals.usage()


class _Mapper:
    """The state of one stream: which kind each upstream block index is, the usage, the
    stop reason."""

    def __init__(self, json_tool: str | None) -> None:
        self.writer = BlockWriter()
        self.kinds: dict[int, str] = {}
        self.totals = _Totals()
        self.started = False
        self.stop_reason: str | None = None
        self.stop_sequence: str | None = None
        self.json_tool = json_tool
        self.called_tools = False

    def start(self, index: int, block: object) -> list[StreamEvent]:
        kind = str(getattr(block, "type", ""))
        writer = self.writer
        if kind == "tool_use":
            name = str(getattr(block, "name", ""))
            if name == self.json_tool:
                self.kinds[index] = "text"
                return writer.end_sequential()
            self.kinds[index] = kind
            self.called_tools = True
            events = writer.end_sequential()
            return events + writer.tool_start(index, str(getattr(block, "id", "")), name)
        self.kinds[index] = kind
        events = writer.end_sequential()
        if kind == "text":
            return events + writer.text(str(getattr(block, "text", "") or ""))
        if kind == "thinking":
            text = str(getattr(block, "thinking", "") or "")
            return events + writer.reasoning(text, str(getattr(block, "signature", "") or ""))
        if kind == "redacted_thinking":
            return events + writer.reasoning(redacted=str(getattr(block, "data", "") or ""))
        return events

    def delta(self, index: int, delta: object) -> list[StreamEvent]:
        kind, writer = self.kinds.get(index), self.writer
        which = getattr(delta, "type", None)
        if which == "text_delta":  # the hot path
            return writer.text(str(getattr(delta, "text", "") or "")) if kind == "text" else []
        if which == "input_json_delta":
            fragment = str(getattr(delta, "partial_json", "") or "")
            if kind == "text":  # the forced json tool: its input is the answer's text
                return writer.text(fragment)
            return writer.tool_args(index, fragment) if kind == "tool_use" else []
        if kind == "thinking" and which == "thinking_delta":
            return writer.reasoning(str(getattr(delta, "thinking", "") or ""))
        if kind == "thinking" and which == "signature_delta":
            return writer.reasoning(signature=str(getattr(delta, "signature", "") or ""))
        return []

    def stop(self, index: int) -> list[StreamEvent]:
        kind = self.kinds.get(index)
        if kind == "tool_use":
            return self.writer.tool_end(index)
        return self.writer.end_sequential() if kind is not None else []

    def read(self, event: object) -> list[StreamEvent]:
        which = getattr(event, "type", None)
        if which == "content_block_delta" and self.started:  # the hot path: one more delta
            delta = getattr(event, "delta", None)
            text_block = self.kinds.get(getattr(event, "index", -1)) == "text"
            if text_block and getattr(delta, "type", None) == "text_delta":
                return self.writer.text(getattr(delta, "text", ""))
        elif which == "text":  # the SDK's copy of the text_delta just read
            return []
        if which == "message_start":
            self.started = True
            self.totals.update(getattr(getattr(event, "message", None), "usage", None))
            return []
        if which not in ("content_block_start", "content_block_delta", "content_block_stop"):
            if which == "message_delta":
                delta = getattr(event, "delta", None)
                self.stop_reason = getattr(delta, "stop_reason", None)
                sequence = getattr(delta, "stop_sequence", None)
                self.stop_sequence = sequence if isinstance(sequence, str) else None
                self.totals.update(getattr(event, "usage", None))
            return []  # the SDK's derived events, message_stop
        index = _int(event, "index")
        if not self.started or index is None:
            raise ValueError(f"{which} outside a message")
        if which == "content_block_delta":
            return self.delta(index, getattr(event, "delta", None))
        if which == "content_block_start":
            return self.start(index, getattr(event, "content_block", None))
        return self.stop(index)

    def finish(self, provider: str) -> list[StreamEvent]:
        if not self.started:
            raise UpstreamUnavailable(f"{provider} sent an unreadable stream", provider=provider)
        if self.stop_reason is None:
            # No message_delta: the stream ended cleanly, but before the answer did.
            message = upstream_message(provider, "ended the stream before the answer was complete")
            raise UpstreamUnavailable(message, provider=provider)
        reason = finish_reason(self.stop_reason)
        if reason == "tool_calls" and self.json_tool is not None and not self.called_tools:
            reason = "stop"
        sequence = self.stop_sequence if self.stop_reason == "stop_sequence" else None
        return [*self.writer.close(), Finish(reason, self.totals.usage(), stop_sequence=sequence)]


async def events_from_stream(
    events: AsyncIterable[object], provider: str, json_tool: str | None = None
) -> AsyncIterator[StreamEvent]:
    """The block events of one Anthropic stream, then one ``Finish`` with the usage.

    Raises ``ValueError`` for a content event before ``message_start`` (a garbled stream),
    and :class:`UpstreamUnavailable` for a stream that ends before its answer does."""
    mapper = _Mapper(json_tool)
    async for event in events:
        for out in mapper.read(event):
            yield out
    for out in mapper.finish(provider):
        yield out
