"""The upstream pump: a provider's iterator run from start to end in a task of its own.

SDK streams built on anyio must not hop between tasks, and the consumer must be able to wait
with a timeout without cancelling the upstream mid-read; so the upstream is iterated in one
task that feeds a small buffer, and the consumer takes from the buffer. The hand-off costs
next to nothing per item (every chunk's path): an item already buffered is taken at once, and
only an empty buffer makes the consumer sleep, on one future that the next item, the
producer's end or the timeout wakes. The upstream is closed (``aclose``) on every exit path.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final

from llmrelay.errors import UpstreamUnavailable
from llmrelay.events import BlockStart, Failure, Finish, StreamEvent
from llmrelay.gateway.logs import log_exception, log_record
from llmrelay.resilience.deadline import deadline_context

__all__ = ["ENDED", "Ended", "Pump", "Raised", "Slot", "TimedOut", "Upstream"]

Upstream = AsyncIterator[StreamEvent | Failure]

_BUFFER_SIZE: Final = 8


@dataclass(frozen=True, slots=True)
class Raised:
    error: Exception


class Ended:
    """The upstream iterator stopped."""


class TimedOut:
    """Nothing arrived in the time given."""


Slot = StreamEvent | Failure | Raised | Ended
ENDED: Final = Ended()
TIMED_OUT: Final = TimedOut()


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
    after the first item that is not a block's start it pauses until then in any case. So
    whatever the consumer wrote on the way (the first frames above all) is sent before the
    producer parses more: an SDK whose read buffer holds many chunks would otherwise parse
    them all first. A block's start does not count: it comes with the block's first delta,
    and both go out in the first frames."""

    def __init__(self, size: int) -> None:
        self._items: deque[Slot] = deque()
        self._size = size
        self._first = True
        self._waiter: asyncio.Future[None] | None = None  # the consumer, when empty
        self._space: asyncio.Future[None] | None = None  # the producer, when full

    async def put(self, item: Slot) -> None:
        self._items.append(item)
        _wake(self._waiter)
        if (self._first and not isinstance(item, BlockStart)) or len(self._items) >= self._size:
            self._first = False
            self._space = asyncio.get_running_loop().create_future()
            await self._space

    def put_last(self, item: Slot) -> None:
        """The terminal item: the producer ends at once (and closes the upstream)."""
        self._items.append(item)
        _wake(self._waiter)

    def take(self) -> Slot | None:
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
        buffer.put_last(ENDED)
    except Exception as exc:  # everything but cancellation goes to the consumer
        buffer.put_last(Raised(exc))
    finally:
        await _close(upstream)


class Pump:
    """The producer task and its buffer. The task's context carries the deadline, for the
    upstream to budget its retries against (``current_deadline()``)."""

    def __init__(self, upstream: Upstream, deadline: float | None = None) -> None:
        self._upstream = upstream
        self._buffer = _Buffer(_BUFFER_SIZE)
        produce = _produce(upstream, self._buffer)
        self._task = asyncio.create_task(produce, context=deadline_context(deadline))
        self._task.add_done_callback(lambda _: self._buffer.wake())

    async def next(self, wait_s: float | None) -> Slot | TimedOut:
        slot = self._buffer.take()
        if slot is not None:
            return slot
        if not self._task.done():
            await self._buffer.wait(wait_s)
            slot = self._buffer.take()
            if slot is not None:
                return slot
        if self._task.done():  # it stopped without a word: cancelled from the inside
            return Raised(UpstreamUnavailable("the upstream stream was cancelled"))
        return TIMED_OUT

    def wake(self) -> None:
        """End the consumer's wait now (it then finds nothing new: ``TimedOut``)."""
        self._buffer.wake()

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
