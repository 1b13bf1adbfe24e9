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
buffer: SDK streams built on anyio must not hop between tasks, and the consumer can wait
for the buffer with a timeout without cancelling the upstream mid-read. The upstream is
closed (``aclose``) on every exit path: its end, an error, the deadline, or the consumer
closing or abandoning the guarded stream. What passes is noted for the invocation's logs
and metrics (:mod:`llmrelay.observability`): the first text, the finish or the failure.

The hand-off costs next to nothing per item (this is every chunk's path): an item already
buffered is taken at once, and only an empty buffer makes the consumer sleep, on one
future that the next item, the producer's end or the timeout wakes.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Final

from llmrelay.errors import DeadlineExceeded, LLMRelayError, UpstreamUnavailable
from llmrelay.events import Failure, Finish, TextDelta, Usage
from llmrelay.gateway.logs import log_exception, log_record
from llmrelay.http import InvocationContext
from llmrelay.observability.record import InvocationRecord, current_record
from llmrelay.protocols.base import Heartbeat, StreamItem
from llmrelay.resilience.deadline import deadline_context

__all__ = ["Upstream", "deadline_from", "guard"]

Upstream = AsyncIterator[TextDelta | Finish | Failure]

_BUFFER_SIZE: Final = 8
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


def _wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


class _Buffer:
    """A bounded FIFO from the producer task to the consumer (cheaper than ``asyncio.Queue``
    plus a getter task per item). A timed-out wait takes nothing, so no item is lost.

    The producer goes on only once the consumer has taken everything and waits for more;
    after the first item it pauses until then in any case. So whatever the consumer wrote
    on the way (the first frames above all) is sent before the producer parses more: an
    SDK whose read buffer holds many chunks would otherwise parse them all first."""

    def __init__(self, size: int) -> None:
        self._items: deque[_Slot] = deque()
        self._size = size
        self._first = True
        self._waiter: asyncio.Future[None] | None = None  # the consumer, when empty
        self._space: asyncio.Future[None] | None = None  # the producer, when full

    async def put(self, item: _Slot) -> None:
        self._items.append(item)
        _wake(self._waiter)
        if self._first or len(self._items) >= self._size:
            self._first = False
            self._space = asyncio.get_running_loop().create_future()
            await self._space

    def put_last(self, item: _Slot) -> None:
        """The terminal item: the producer ends at once (and closes the upstream)."""
        self._items.append(item)
        _wake(self._waiter)

    def take(self) -> _Slot | None:
        return self._items.popleft() if self._items else None

    def wake(self) -> None:
        _wake(self._waiter)

    async def wait(self, wait_s: float | None) -> None:
        """Let the producer go on, then wait until an item is put, :meth:`wake` or
        ``wait_s`` seconds (``None``: no limit)."""
        _wake(self._space)
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = None if wait_s is None else loop.call_later(wait_s, _wake, waiter)
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()


async def _produce(upstream: Upstream, buffer: _Buffer) -> None:
    try:
        async for event in upstream:
            if isinstance(event, Finish | Failure):
                buffer.put_last(event)
                return
            await buffer.put(event)
        buffer.put_last(_ENDED)
    except Exception as exc:  # everything but cancellation goes to the consumer
        buffer.put_last(_Raised(exc))
    finally:
        await _close(upstream)


class _Pump:
    """The producer task and its buffer. The task's context carries the deadline, for the
    upstream to budget its retries against (``current_deadline()``)."""

    def __init__(self, upstream: Upstream, deadline: float | None = None) -> None:
        self._upstream = upstream
        self._buffer = _Buffer(_BUFFER_SIZE)
        produce = _produce(upstream, self._buffer)
        self._task = asyncio.create_task(produce, context=deadline_context(deadline))
        self._task.add_done_callback(lambda _: self._buffer.wake())

    async def next(self, wait_s: float | None) -> _Slot | _TimedOut:
        slot = self._buffer.take()
        if slot is not None:
            return slot
        if not self._task.done():
            await self._buffer.wait(wait_s)
            slot = self._buffer.take()
            if slot is not None:
                return slot
        if self._task.done():  # it stopped without a word: cancelled from the inside
            return _Raised(UpstreamUnavailable("the upstream stream was cancelled"))
        return _TIMED_OUT

    async def stop(self, grace_s: float) -> None:
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
    record = current_record()  # what the invocation's logs and metrics will say
    pump = _Pump(upstream, deadline)
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
                if record is not None and record.first_text is None and slot.text:
                    record.text()
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
