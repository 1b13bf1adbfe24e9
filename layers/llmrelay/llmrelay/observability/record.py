"""What one invocation did, noted as it happens, emitted once its response has ended.

:class:`~llmrelay.observability.middleware.Observed` opens a record per invocation and
keeps it in a context variable; the parts of the gateway that learn something note it
there: the route (:func:`note_route`), the guard (first text, finish, failure) and the
error responses (:func:`note_error`). Without an open record (a library user, most
tests) noting costs one context-variable lookup and does nothing.

Pure: no I/O, no clock of its own (times are ``time.monotonic()`` readings).
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Final

from llmrelay.events import Failure, Finish, Usage

__all__ = ["InvocationRecord", "current_record", "note_error", "note_route", "open_record"]

_CURRENT: Final[ContextVar[InvocationRecord | None]] = ContextVar(
    "llmrelay_invocation", default=None
)


@dataclass(slots=True)
class InvocationRecord:
    """One invocation. ``confirmed``: the upstream accepted the model (an item came back),
    which is what makes the model string fit to be a metric dimension."""

    request_id: str
    method: str
    path: str
    started: float
    cold_start: bool = False
    status: int = 0
    provider: str | None = None
    model: str | None = None
    confirmed: bool = False
    first_text: float | None = None
    ended: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    error: str | None = None  # the error's stable code

    def route(self, provider: str, model: str) -> None:
        self.provider, self.model = provider, model

    def text(self) -> None:
        """The first text delta passed on (later ones change nothing)."""
        if self.first_text is None:
            self.first_text = time.monotonic()
        self.confirmed = True

    def finish(self, finish: Finish) -> None:
        self.confirmed = True
        if finish.model:  # a fallback may have answered
            self.route(finish.model.partition("/")[0], finish.model)
        self._usage(finish.usage)

    def fail(self, failure: Failure) -> None:
        self.error = self.error or failure.error.code
        self._usage(failure.usage)

    def _usage(self, usage: Usage) -> None:
        self.input_tokens, self.output_tokens = usage.input_tokens, usage.output_tokens

    def end(self, now: float) -> None:
        if self.ended is None:
            self.ended = now

    @property
    def ttft_ms(self) -> float | None:
        return None if self.first_text is None else (self.first_text - self.started) * 1000

    @property
    def duration_ms(self) -> float:
        return ((self.ended or self.started) - self.started) * 1000


def open_record(record: InvocationRecord) -> None:
    """Make ``record`` the current task's (tasks it creates from now on inherit it)."""
    _CURRENT.set(record)


def current_record() -> InvocationRecord | None:
    return _CURRENT.get()


def note_route(provider: str, model: str) -> None:
    """The answer is asked of ``model`` (``provider/model``) of ``provider``."""
    record = _CURRENT.get()
    if record is not None:
        record.route(provider, model)


def note_error(code: str) -> None:
    """The response is an error with this stable code (the first one noted is kept)."""
    record = _CURRENT.get()
    if record is not None and record.error is None:
        record.error = code
