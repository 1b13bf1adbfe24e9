"""``guard``: a provider's event iterator made safe to stream to a client.

The guarded stream never raises: block events, ``Heartbeat`` items while the
upstream is quiet, then exactly one terminal item, ``Finish`` or ``Failure``:

- an :class:`~llmrelay.errors.LLMRelayError` from the upstream becomes ``Failure(error)``;
- any other exception becomes ``Failure`` with code ``internal_error`` and a generic message,
  and one JSON line (redacted) on stderr;
- an upstream that stops without a ``Finish`` becomes ``Failure(upstream_unavailable)``;
- at ``deadline`` the stream ends with ``Failure(deadline_exceeded)`` whatever the upstream
  is doing, even if it ignores cancellation;
- once ``stop`` is set, the stream ends at once with ``Finish("stopped")`` and the usage so
  far, and the upstream is closed (no more tokens billed).

A failure's ``usage`` is what is known so far: input tokens are not reported before the
end, so ``input_tokens`` is 0 and ``output_tokens`` counts the deltas already passed on
(providers send about one token per delta).

The upstream runs in a task of its own (:mod:`llmrelay.gateway.pump`) and is closed on
every exit path: its end, an error, the deadline, or the consumer closing or abandoning the
guarded stream. What passes is noted for the invocation's logs
and metrics (:mod:`llmrelay.observability`): the first text, the finish or the failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Final

from llmrelay.errors import DeadlineExceeded, LLMRelayError, UpstreamUnavailable
from llmrelay.events import (
    BlockEnd,
    BlockStart,
    Failure,
    Finish,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from llmrelay.gateway.logs import log_exception
from llmrelay.gateway.pump import Ended, Pump, Raised, TimedOut, Upstream
from llmrelay.gateway.stop import StopSignal
from llmrelay.http import InvocationContext
from llmrelay.observability.record import InvocationRecord, current_record
from llmrelay.protocols.base import Heartbeat, StreamItem

__all__ = ["Upstream", "deadline_from", "guard"]

_HEARTBEAT: Final = Heartbeat()


def deadline_from(context: InvocationContext, margin_ms: int) -> float:
    """The running loop's time at which to give up: ``margin_ms`` before the deadline."""
    remaining_ms = context.get_remaining_time_in_millis()
    return asyncio.get_running_loop().time() + (remaining_ms - margin_ms) / 1000


def _next_wait(
    now: float, deadline: float | None, heartbeat_s: float | None
) -> tuple[float | None, bool]:
    """How long to wait for the next item, and whether that wait ends in a heartbeat
    (else in the deadline, or never)."""
    to_deadline = None if deadline is None else deadline - now
    if heartbeat_s and (to_deadline is None or heartbeat_s < to_deadline):
        return heartbeat_s, True
    return to_deadline, False


def _terminal(slot: Raised | Ended, usage: Usage, request_id: str) -> Failure:
    if isinstance(slot, Ended):
        error: LLMRelayError = UpstreamUnavailable("the upstream ended the answer too early")
    elif isinstance(slot.error, LLMRelayError):
        error = slot.error
    else:
        log_exception("unexpected error in the upstream stream", slot.error, request_id=request_id)
        error = LLMRelayError(f"internal error (request {request_id or 'unknown'})")
    return Failure(error, usage)


def _deadline_failure(usage: Usage) -> Failure:
    return Failure(DeadlineExceeded("the function's time limit is near: answer cut short"), usage)


async def guard(
    upstream: Upstream,
    *,
    deadline: float | None = None,
    heartbeat_s: float | None = None,
    request_id: str = "",
    stop_grace_s: float = 0.1,
    stop: StopSignal | None = None,
) -> AsyncGenerator[StreamItem, None]:
    """``upstream`` as a stream that never raises (see the module's docstring).

    ``deadline`` is on the running loop's clock (see :func:`deadline_from`); ``heartbeat_s``
    of silence yields a ``Heartbeat``; ``stop_grace_s`` bounds the wait for the upstream to
    honour cancellation when the stream ends early; ``stop`` ends it on request.
    """
    loop = asyncio.get_running_loop()
    record = current_record()  # what the invocation's logs and metrics will say
    pump = Pump(upstream, deadline)
    if stop is not None:
        stop.on_set(pump.wake)
    deltas = 0
    try:
        while True:
            timeout, beat = _next_wait(loop.time(), deadline, heartbeat_s)
            if timeout is not None and timeout <= 0 and not beat:
                break
            slot = await pump.next(timeout)
            if stop is not None and stop.is_set() and not isinstance(slot, Finish | Failure):
                yield _noted(record, Finish("stopped", Usage(output_tokens=deltas)))
                return
            if isinstance(slot, TimedOut):
                if not beat:
                    break
                yield _HEARTBEAT
            elif isinstance(slot, TextDelta):
                deltas += 1
                if record is not None and record.first_text is None and slot.text:
                    record.text()
                yield slot
            elif isinstance(slot, ReasoningDelta | ToolCallDelta):
                deltas += 1
                yield slot
            elif isinstance(slot, BlockStart | BlockEnd):
                yield slot
            elif isinstance(slot, Finish | Failure):
                yield _noted(record, slot)
                return
            else:
                yield _noted(record, _terminal(slot, Usage(output_tokens=deltas), request_id))
                return
        yield _noted(record, _deadline_failure(Usage(output_tokens=deltas)))
    finally:
        await pump.stop(stop_grace_s)


def _noted(record: InvocationRecord | None, terminal: Finish | Failure) -> Finish | Failure:
    if record is not None:
        if isinstance(terminal, Finish):
            record.finish(terminal)
        else:
            record.fail(terminal)
    return terminal
