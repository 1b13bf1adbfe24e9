"""Fakes for the gateway's tests: a Lambda-like context and scripted upstream streams."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from llmrelay.events import Failure, Finish, TextDelta

__all__ = ["Context", "Pause", "Script", "Step"]


class Context:
    """An invocation context whose deadline is ``remaining_ms`` after its creation."""

    def __init__(self, remaining_ms: int = 60_000, aws_request_id: str = "req-1") -> None:
        self.aws_request_id = aws_request_id
        self._deadline = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class Pause:
    seconds: float


Step = TextDelta | Finish | Failure | Pause | BaseException


@dataclass
class Script:
    """An upstream that plays ``steps`` (an exception step is raised) and records whether it
    was started and closed."""

    steps: tuple[Step, ...]
    started: bool = False
    closed: bool = False
    read: int = field(default=0)

    async def stream(self) -> AsyncIterator[TextDelta | Finish | Failure]:
        self.started = True
        try:
            for step in self.steps:
                self.read += 1
                if isinstance(step, BaseException):
                    raise step
                if isinstance(step, Pause):
                    await asyncio.sleep(step.seconds)
                else:
                    yield step
        finally:
            self.closed = True
