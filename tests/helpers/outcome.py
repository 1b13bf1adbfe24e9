"""A drained event stream: every event it produced, then the error that ended it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Generic, Self, TypeVar

from llmrelay import Finish, TextDelta
from llmrelay.errors import LLMRelayError

__all__ = ["Drained"]

E = TypeVar("E")


@dataclass
class Drained(Generic[E]):
    """Everything a stream produced, then the error that ended it."""

    events: list[E] = field(default_factory=list)
    error: LLMRelayError | None = None

    @classmethod
    async def drain(cls, stream: AsyncIterator[E]) -> Self:
        outcome = cls()
        try:
            async for event in stream:
                outcome.events.append(event)
        except LLMRelayError as exc:
            outcome.error = exc
        return outcome

    @property
    def text(self) -> str:
        return "".join(e.text for e in self.events if isinstance(e, TextDelta))

    @property
    def finish(self) -> Finish:
        assert self.error is None, f"stream failed: {self.error!r}"
        last = self.events[-1]
        assert isinstance(last, Finish)
        return last
