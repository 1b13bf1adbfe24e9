"""ConverseStream's events (as boto3 parses them, one dict each) into block events. Pure.

- ``contentBlockDelta.delta.text`` → text; ``reasoningContent.text`` / ``signature`` /
  ``redactedContent`` (bytes, carried as base64) → reasoning;
- ``contentBlockStart.start.toolUse`` (``toolUseId``, ``name``) opens a tool call, and
  ``delta.toolUse.input`` fragments fill it. Calls are keyed on Bedrock's
  ``contentBlockIndex``, while the block indices llmrelay gives out are its own
  (:class:`~llmrelay.blocks.BlockWriter`): Bedrock's count reasoning blocks too;
- ``contentBlockStop`` closes the block it names, so two reasoning blocks in a row (each
  with its signature) stay two;
- ``messageStop.stopReason`` → the finish reason; ``metadata.usage`` → the usage.
  Bedrock's ``inputTokens`` leaves out the cached tokens (``totalTokens`` is input + output +
  cache read + cache write), while llmrelay's ``input_tokens`` counts them, so they are added.

A stream that ends without ``messageStop`` was cut short (``UpstreamUnavailable``).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, Final

from llmrelay.blocks import BlockWriter
from llmrelay.errors import UpstreamUnavailable
from llmrelay.events import Finish, FinishReason, StreamEvent, Usage
from llmrelay.providers.errormap import upstream_message

__all__ = ["ConverseEvents", "finish_reason", "usage_of"]

_FINISH_REASONS: Final[dict[str, FinishReason]] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}


def finish_reason(stop_reason: str | None) -> FinishReason:
    """The neutral finish reason for Bedrock's ``stopReason`` (``other`` when unknown, as
    for ``malformed_model_output`` and ``malformed_tool_use``)."""
    return _FINISH_REASONS.get(stop_reason or "", "other")


def _count(usage: Mapping[str, Any], name: str) -> int:
    value = usage.get(name)
    return value if isinstance(value, int) else 0


def usage_of(usage: Mapping[str, Any]) -> Usage:
    cache_read = _count(usage, "cacheReadInputTokens")
    cache_write = _count(usage, "cacheWriteInputTokens")
    return Usage(
        input_tokens=_count(usage, "inputTokens") + cache_read + cache_write,
        output_tokens=_count(usage, "outputTokens"),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


class ConverseEvents:
    """Feed each event to :meth:`feed`; :meth:`finish` once the stream has ended."""

    def __init__(self, provider: str = "bedrock") -> None:
        self._provider = provider
        self._writer = BlockWriter()
        self._tools: set[object] = set()
        self._stop_reason: str | None = None
        self._usage = Usage()

    def feed(self, event: Mapping[str, Any]) -> list[StreamEvent]:
        if "contentBlockDelta" in event:
            return self._delta(event["contentBlockDelta"])
        if "contentBlockStart" in event:
            return self._start(event["contentBlockStart"])
        if "contentBlockStop" in event:
            return self._stop(event["contentBlockStop"])
        if "messageStop" in event:
            self._stop_reason = _text(event["messageStop"].get("stopReason")) or "unknown"
        elif "metadata" in event:
            self._usage = usage_of(event["metadata"].get("usage") or {})
        return []  # messageStart, and anything newer than this adapter

    def _start(self, start: Mapping[str, Any]) -> list[StreamEvent]:
        tool = (start.get("start") or {}).get("toolUse")
        if not isinstance(tool, Mapping):
            return []
        index = start.get("contentBlockIndex")
        self._tools.add(index)
        events = self._writer.end_sequential()
        return events + self._writer.tool_start(
            index, _text(tool.get("toolUseId")), _text(tool.get("name"))
        )

    def _delta(self, body: Mapping[str, Any]) -> list[StreamEvent]:
        delta, index = body.get("delta") or {}, body.get("contentBlockIndex")
        if "text" in delta:
            return self._writer.text(_text(delta["text"]))
        if "toolUse" in delta:
            return self._writer.tool_args(index, _text((delta["toolUse"] or {}).get("input")))
        reasoning = delta.get("reasoningContent")
        if isinstance(reasoning, Mapping):
            redacted = reasoning.get("redactedContent")
            return self._writer.reasoning(
                _text(reasoning.get("text")),
                _text(reasoning.get("signature")),
                base64.b64encode(redacted).decode() if isinstance(redacted, bytes) else "",
            )
        return []

    def _stop(self, body: Mapping[str, Any]) -> list[StreamEvent]:
        index = body.get("contentBlockIndex")
        if index in self._tools:
            self._tools.discard(index)
            return self._writer.tool_end(index)
        return self._writer.end_sequential()

    def finish(self) -> list[StreamEvent]:
        """The closing events and the ``Finish``; raises when no ``messageStop`` came."""
        if self._stop_reason is None:
            what = "ended its stream before the answer was complete"
            raise UpstreamUnavailable(
                upstream_message(self._provider, what), provider=self._provider
            )
        return [*self._writer.close(), Finish(finish_reason(self._stop_reason), self._usage)]
