"""The one narrow interface every provider implements."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from llmrelay.events import StreamEvent
from llmrelay.models import Message
from llmrelay.tools import ReasoningEffort, ResponseFormat, Tool, ToolChoice, ToolChoiceName

__all__ = ["Provider", "ProviderCall"]


@dataclass(frozen=True, slots=True)
class ProviderCall:
    """What a provider needs for one answer, already resolved and authenticated.

    ``messages`` holds only ``user``, ``assistant`` and ``tool`` turns; every system
    instruction (the ``context_id`` prompt and any ``system`` messages) is merged into
    ``system``, so that each adapter can put it where its API wants it. Everything else is
    the request's, already checked against what the provider supports
    (:data:`llmrelay.providers.registry.ProviderSpec.unsupported`).
    """

    provider: str
    model: str
    messages: Sequence[Message]
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    user: str | None = None
    api_key: str | None = None
    base_url: str | None = None
    tools: Sequence[Tool] = ()
    tool_choice: ToolChoiceName | ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    stop: Sequence[str] = ()
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None
    reasoning_effort: ReasoningEffort | None = None


class Provider(Protocol):
    """Turns a call into block events (:mod:`llmrelay.events`) then exactly one ``Finish``.

    Failures raise :class:`llmrelay.errors.LLMRelayError` subclasses, translated from
    the SDK's own exceptions with ``raise ... from exc``.
    """

    def stream(self, call: ProviderCall) -> AsyncIterator[StreamEvent]: ...
