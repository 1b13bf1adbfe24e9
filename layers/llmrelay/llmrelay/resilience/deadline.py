"""The deadline of the stream being produced, as the code that enforces it publishes it.

The gateway's guard (:mod:`llmrelay.gateway.guard`) owns the Lambda deadline: it ends the
stream there whatever the upstream does. It runs the upstream in a task whose context
carries that deadline (:func:`deadline_context`), so that the resilient stream can budget
its retries against it (:func:`current_deadline`) without enforcing it a second time.
"""

from __future__ import annotations

import contextvars
from typing import Final

__all__ = ["current_deadline", "deadline_context"]

_DEADLINE: Final[contextvars.ContextVar[float | None]] = contextvars.ContextVar(
    "llmrelay_deadline", default=None
)


def current_deadline() -> float | None:
    """The running loop's time by which the current stream must end, if one was set."""
    return _DEADLINE.get()


def deadline_context(deadline: float | None) -> contextvars.Context:
    """A copy of the current context in which :func:`current_deadline` is ``deadline``
    (for ``asyncio.create_task(..., context=...)``)."""
    context = contextvars.copy_context()
    context.run(_DEADLINE.set, deadline)
    return context
