"""``guard``: a provider's event iterator made safe to stream to a client.

The guarded stream never raises: ``TextDelta`` items, ``Heartbeat`` items while the
upstream is quiet, then exactly one terminal item, ``Finish`` or ``Failure``:

- an :class:`~llmrelay.errors.LLMRelayError` from the upstream becomes ``Failure(error)``;
- any other exception becomes ``Failure`` with code ``internal_error`` and a generic message,
  and one JSON line (redacted) on stderr;
- an upstream that stops without a ``Finish`` becomes ``Failure(upstream_unavailable)``;
- at ``deadline`` the stream ends with ``Failure(deadline_exceeded)`` whatever the upstream
  is doing, even if it ignores cancellation.

A failure's ``usage`` is what is known so far: input tokens are not reported before the
end, so ``input_tokens`` is 0 and ``output_tokens`` counts the deltas already passed on
(providers send about one token per delta).

The upstream is iterated from start to end in one task of its own, which feeds a small
queue: SDK streams built on anyio must not hop between tasks, and the consumer can wait
on the queue with a timeout without cancelling the upstream mid-read. The upstream is
closed (``aclose``) on every exit path: its end, an error, the deadline, or the consumer
closing or abandoning the guarded stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Final

from llmrelay.errors import DeadlineExceeded, LLMRelayError, UpstreamUnavailable
from llmrelay.events import Failure, Finish, TextDelta, Usage
from llmrelay.gateway.logs import log_exception, log_record
from llmrelay.http import InvocationContext
from llmrelay.protocols.base import Heartbeat, StreamItem

__all__ = ["Upstream", "deadline_from", "guard"]

Upstream = AsyncIterator[TextDelta | Finish | Failure]

_QUEUE_SIZE: Final = 8
_HEARTBEAT: Final = Heartbeat()


@dataclass(frozen=True, slots=True)
class _Raised:
    error: Exception


class _Ended:
    """The upstream iterator stopped."""


class _TimedOut:
    """Nothing arrived in the time given."""


_Slot = TextDelta | Finish | Failure | _Raised | _Ended
_ENDED: Final = _Ended()
_TIMED_OUT: Final = _TimedOut()


def deadline_from(context: InvocationContext, margin_ms: int) -> float:
    """The running loop's time at which to give up: ``margin_ms`` before the deadline."""
    remaining_ms = context.get_remaining_time_in_millis()
    return asyncio.get_running_loop().time() + (remaining_ms - margin_ms) / 1000


async def _close(upstream: Upstream) -> None:
    aclose = getattr(upstream, "aclose", None)
    if aclose is None:
        return
    try:
        await aclose()
    except Exception as exc:
        log_exception("closing the upstream stream failed", exc)


async def _produce(upstream: Upstream, queue: asyncio.Queue[_Slot]) -> None:
    try:
        async for event in upstream:
            await queue.put(event)
            if isinstance(event, Finish | Failure):
                return
        await queue.put(_ENDED)
    except Exception as exc:  # everything but cancellation goes to the consumer
        await queue.put(_Raised(exc))
    finally:
        await _close(upstream)


class _Pump:
    """The producer task and the consumer's pending ``get`` (kept across timeouts, so an
    item that arrives as a wait times out is never lost)."""

    def __init__(self, upstream: Upstream) -> None:
        self._upstream = upstream
        self._queue: asyncio.Queue[_Slot] = asyncio.Queue(maxsize=_QUEUE_SIZE)
        self._task = asyncio.create_task(_produce(upstream, self._queue))
        self._getter: asyncio.Task[_Slot] | None = None

    async def next(self, wait_s: float | None) -> _Slot | _TimedOut:
        if self._getter is None:
            self._getter = asyncio.create_task(self._queue.get())
        waits = {self._getter, self._task}
        await asyncio.wait(waits, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
        if self._getter.done() or not self._queue.empty():
            getter, self._getter = self._getter, None
            return await getter
        if self._task.done():  # it stopped without a word: cancelled from the inside
            return _Raised(UpstreamUnavailable("the upstream stream was cancelled"))
        return _TIMED_OUT

    async def stop(self, grace_s: float) -> None:
        if self._getter is not None:
            self._getter.cancel()
        if not self._task.done():
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=grace_s)
        if self._task.done():
            # Closing twice is harmless, and a task cancelled before it ever ran has not
            # closed the upstream itself.
            await _close(self._upstream)
        else:
            log_record("WARNING", "the upstream stream ignored cancellation; left behind")


def _next_wait(
    now: float, deadline: float | None, heartbeat_s: float | None
) -> tuple[float | None, bool]:
    """How long to wait for the next item, and whether that wait ends in a heartbeat
    (else in the deadline, or never)."""
    to_deadline = None if deadline is None else deadline - now
    if heartbeat_s and (to_deadline is None or heartbeat_s < to_deadline):
        return heartbeat_s, True
    return to_deadline, False


def _terminal(slot: _Raised | _Ended, usage: Usage, request_id: str) -> Failure:
    if isinstance(slot, _Ended):
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
) -> AsyncGenerator[StreamItem, None]:
    """``upstream`` as a stream that never raises (see the module's docstring).

    ``deadline`` is on the running loop's clock (see :func:`deadline_from`); ``heartbeat_s``
    of silence yields a ``Heartbeat``; ``stop_grace_s`` bounds the wait for the upstream to
    honour cancellation when the stream ends early.
    """
    loop = asyncio.get_running_loop()
    pump = _Pump(upstream)
    deltas = 0
    try:
        while True:
            timeout, beat = _next_wait(loop.time(), deadline, heartbeat_s)
            if timeout is not None and timeout <= 0 and not beat:
                break
            slot = await pump.next(timeout)
            if isinstance(slot, _TimedOut):
                if not beat:
                    break
                yield _HEARTBEAT
            elif isinstance(slot, TextDelta):
                deltas += 1
                yield slot
            elif isinstance(slot, Finish | Failure):
                yield slot
                return
            else:
                yield _terminal(slot, Usage(output_tokens=deltas), request_id)
                return
        yield _deadline_failure(Usage(output_tokens=deltas))
    finally:
        await pump.stop(stop_grace_s)
