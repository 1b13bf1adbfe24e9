"""The provider-neutral stream of an answer: content blocks, then exactly one ``Finish``.

An answer is a sequence of blocks, each of one kind: text, reasoning, or a tool call.
Every block is opened by a :class:`BlockStart`, filled by deltas carrying its ``index``
(:class:`TextDelta`, :class:`ReasoningDelta`, :class:`ToolCallDelta`) and closed by a
:class:`BlockEnd` that carries the whole block; then one :class:`Finish` with the reason and
the usage. Block indices count from 0 in the order the blocks open, whatever the upstream's
own numbering; the blocks of parallel tool calls may be open at the same time, their deltas
interleaved, and each keeps its own index. Opaque provider data (a reasoning signature,
redacted or encrypted reasoning, tool-call ids) is carried byte-exact, never interpreted,
so that it can be sent back on the next turn (see :func:`llmrelay.models.assistant_message`).

Code that only wants the text reads the ``TextDelta`` items and the ``Finish``, and may
ignore everything else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

from llmrelay.errors import LLMRelayError

__all__ = [
    "Block",
    "BlockEnd",
    "BlockKind",
    "BlockStart",
    "Delta",
    "Failure",
    "Finish",
    "FinishReason",
    "ReasoningBlock",
    "ReasoningDelta",
    "Routed",
    "StreamEvent",
    "TextBlock",
    "TextDelta",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
]

# "stopped": the client asked the gateway to stop the answer (durable streams).
FinishReason = Literal["stop", "length", "content_filter", "tool_calls", "other", "stopped"]
BlockKind = Literal["text", "reasoning", "tool_call"]


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts, in OpenAI's meaning: ``input_tokens`` counts every input token, cached
    or not (``cache_read_tokens`` and ``cache_write_tokens`` are parts of it), and
    ``output_tokens`` every generated one (``reasoning_tokens`` is part of it)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


# -- whole blocks ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextBlock:
    text: str = ""

    @property
    def kind(self) -> BlockKind:
        return "text"


@dataclass(frozen=True, slots=True)
class ReasoningBlock:
    """The model's reasoning: readable ``text`` and/or opaque data. ``signature`` (Anthropic,
    Bedrock) authenticates the text; ``redacted`` is reasoning the provider keeps encrypted
    (Anthropic ``redacted_thinking``, Bedrock ``redactedContent`` as base64, OpenAI
    ``encrypted_content``). Both are passed back unchanged or not at all."""

    text: str = ""
    signature: str | None = None
    redacted: str | None = None

    @property
    def kind(self) -> BlockKind:
        return "reasoning"


@dataclass(frozen=True, slots=True)
class ToolCall:
    """The model asks for tool ``name`` with ``arguments``: JSON text, exactly as the
    upstream sent it (concatenated fragments)."""

    id: str
    name: str
    arguments: str = ""

    @property
    def kind(self) -> BlockKind:
        return "tool_call"

    def input(self) -> object:
        """The arguments decoded (``{}`` when empty); raises ``ValueError`` on bad JSON."""
        return json.loads(self.arguments) if self.arguments.strip() else {}


Block = TextBlock | ReasoningBlock | ToolCall


# -- stream events --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BlockStart:
    """Block ``index`` opens. A tool call's start names it: ``id`` and ``name``."""

    index: int
    kind: BlockKind
    id: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str
    index: int = 0


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of reasoning: ``text``, or a fragment of its ``signature`` or of its
    ``redacted`` data (fragments concatenate, as the text's do)."""

    text: str = ""
    index: int = 0
    signature: str = ""
    redacted: str = ""


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A fragment of a tool call's JSON arguments (fragments concatenate)."""

    arguments: str
    index: int


@dataclass(frozen=True, slots=True)
class BlockEnd:
    """Block ``index`` is complete; ``block`` is all of it."""

    index: int
    block: Block


@dataclass(frozen=True, slots=True)
class Finish:
    """The answer is complete. ``model``: the ``provider/model`` that answered, when the
    stream knows it (:func:`llmrelay.stream_resilient` sets it; a provider leaves it unset).
    ``stop_sequence``: which of the request's ``stop`` sequences ended a ``stop``, when the
    upstream says (Anthropic does; OpenAI-style APIs do not)."""

    reason: FinishReason = "stop"
    usage: Usage = field(default_factory=Usage)
    model: str | None = None
    stop_sequence: str | None = None


@dataclass(frozen=True, slots=True)
class Routed:
    """The answer comes from ``model_id`` (``provider/model``), reached at the ``attempt``-th
    try (retries and fallbacks counted). :func:`llmrelay.stream_resilient` yields it once,
    just before the answer's first event."""

    model_id: str
    attempt: int = 1

    @property
    def provider(self) -> str:
        return self.model_id.partition("/")[0]


@dataclass(frozen=True, slots=True)
class Failure:
    """The answer ended in an error (used by the gateway once events may have gone out)."""

    error: LLMRelayError
    usage: Usage = field(default_factory=Usage)


Delta = TextDelta | ReasoningDelta | ToolCallDelta
StreamEvent = BlockStart | TextDelta | ReasoningDelta | ToolCallDelta | BlockEnd | Finish
