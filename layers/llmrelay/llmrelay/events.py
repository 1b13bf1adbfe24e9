"""The provider-neutral stream: ``TextDelta`` many, then exactly one terminal event."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from llmrelay.errors import LLMRelayError

__all__ = ["Failure", "Finish", "FinishReason", "StreamEvent", "TextDelta", "Usage"]

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
    """The answer is complete."""

    reason: FinishReason = "stop"
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True, slots=True)
class Failure:
    """The answer ended in an error (used by the gateway once text may have gone out)."""

    error: LLMRelayError
    usage: Usage = field(default_factory=Usage)


StreamEvent = TextDelta | Finish
