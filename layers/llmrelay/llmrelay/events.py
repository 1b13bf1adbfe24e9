"""The provider-neutral stream: ``TextDelta`` many, then exactly one terminal event."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from llmrelay.errors import LLMRelayError

__all__ = ["Failure", "Finish", "FinishReason", "Routed", "StreamEvent", "TextDelta", "Usage"]

FinishReason = Literal["stop", "length", "content_filter", "tool_calls", "other"]


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class Finish:
    """The answer is complete. ``model``: the ``provider/model`` that answered, when the
    stream knows it (:func:`llmrelay.stream_resilient` sets it; a provider leaves it unset)."""

    reason: FinishReason = "stop"
    usage: Usage = field(default_factory=Usage)
    model: str | None = None


@dataclass(frozen=True, slots=True)
class Routed:
    """The answer comes from ``model_id`` (``provider/model``), reached at the ``attempt``-th
    try (retries and fallbacks counted). :func:`llmrelay.stream_resilient` yields it once,
    just before the answer's first ``TextDelta`` (or its ``Finish``)."""

    model_id: str
    attempt: int = 1

    @property
    def provider(self) -> str:
        return self.model_id.partition("/")[0]


@dataclass(frozen=True, slots=True)
class Failure:
    """The answer ended in an error (used by the gateway once text may have gone out)."""

    error: LLMRelayError
    usage: Usage = field(default_factory=Usage)


StreamEvent = TextDelta | Finish
