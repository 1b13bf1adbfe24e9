"""One durable answer: its frames go to the client and, numbered, to the store's writer.

:meth:`DurableRun.items` taps the guarded stream (the whole blocks, how it ended) for the
thread's turn and the stream's end status; :meth:`DurableRun.frames` wraps the dialect's
frames: each but a ping gets the next seq (as an SSE ``id:`` line when the dialect wants
ids) and is handed to the writer as sent. When the client goes away before the end, the
answer goes on into the store (bounded by the guard's deadline) so that it can be resumed;
then the writer writes the end, and the thread gets its turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator

from llmrelay.blocks import BlockCollector
from llmrelay.durable.records import StreamHead, StreamStatus, ThreadKey
from llmrelay.durable.writer import StreamWriter
from llmrelay.events import BlockStart, Failure, Finish, FinishReason, TextDelta
from llmrelay.gateway.durability import Durability
from llmrelay.gateway.logs import log_exception
from llmrelay.gateway.stop import StopSignal
from llmrelay.gateway.thread_turns import RequestThread
from llmrelay.protocols.base import Heartbeat, StreamItem

__all__ = ["DurableRun"]


class DurableRun:
    def __init__(
        self,
        durability: Durability,
        head: StreamHead,
        stop: StopSignal,
        *,
        ids: bool,
        thread: RequestThread | None = None,
        deadline: float | None = None,
    ) -> None:
        self.durability = durability
        self.head = head
        self.ids = ids
        self.thread = thread
        self.stop = stop
        self.deadline = deadline  # on the loop's clock: the end must be written before it
        self.writer = StreamWriter(durability.store, head, durability.writer, stop.set)
        self.blocks = BlockCollector()
        self.reason: FinishReason | None = None
        self.ended = False
        self._taps: list[AsyncGenerator[StreamItem, None]] = []
        self._opened: set[int] = set()

    @property
    def status(self) -> StreamStatus:
        if not self.ended:
            return "incomplete"
        if self.reason is None:
            return "failed"
        return "stopped" if self.reason == "stopped" else "done"

    def items(self, items: AsyncIterator[StreamItem]) -> AsyncGenerator[StreamItem, None]:
        """``items`` as they pass, noted (closed with :meth:`frames`)."""
        tap = self._tap(items)
        self._taps.append(tap)
        return tap

    async def _tap(self, items: AsyncIterator[StreamItem]) -> AsyncGenerator[StreamItem, None]:
        async for item in items:
            if isinstance(item, Finish):
                self.reason, self.ended = item.reason, True
            elif isinstance(item, Failure):
                self.ended = True
            elif isinstance(item, TextDelta) and item.index not in self._opened:
                # A stream may give text without opening its block (the simplest fakes do).
                self._opened.add(item.index)
                self.blocks.extend([BlockStart(item.index, "text"), item])
            elif not isinstance(item, Heartbeat):
                if isinstance(item, BlockStart):
                    self._opened.add(item.index)
                self.blocks.add(item)
            yield item

    def _numbered(self, frame: bytes) -> bytes | None:
        if frame.startswith(b":"):
            return None  # a ping: the reader makes its own
        if self.ids:
            frame = b"id: %d\n" % self.writer.next_seq + frame
        self.writer.add(frame)
        return frame

    def begin(self) -> None:
        """Start writing the head now, while the upstream thinks about its first token, so
        that the stream can be found (resumed) from its first byte on."""
        self.writer.start()

    async def abandon(self) -> None:
        """The answer failed before its first byte (no one knows the stream's id): end the
        writer, waiting little (the error response must not wait on a slow store)."""
        self.writer.start()
        await self.writer.close("failed", timeout_s=0.2)

    async def frames(self, frames: AsyncGenerator[bytes, None]) -> AsyncGenerator[bytes, None]:
        self.writer.start()
        active = self._mark_active()
        try:
            # Bounded: a slow store must not hold the answer back for long.
            await self.writer.head_written(self.durability.call_timeout_s / 4)
            async for frame in frames:
                numbered = self._numbered(frame)
                yield frame if numbered is None else numbered
        except GeneratorExit:
            # The client is gone; the answer is not: keep it for a resume.
            async for frame in frames:
                self._numbered(frame)
            raise
        finally:
            await frames.aclose()
            for tap in self._taps:
                await tap.aclose()
            await self.writer.close(self.status, self._time_left())
            await self._settle(active)

    def _time_left(self) -> float:
        """How long the end may take: the writer's bound, less near the deadline (a store
        that is slow then costs the stream's end its record, never the response)."""
        bound = self.durability.writer.close_timeout_s
        if self.deadline is None:
            return bound
        return max(0.0, min(bound, self.deadline - asyncio.get_running_loop().time()))

    def _mark_active(self) -> asyncio.Task[None] | None:
        if self.thread is None:
            return None
        key: ThreadKey = self.thread.key
        store = self.durability.store
        return asyncio.create_task(store.set_active(key, self.head.stream_id))

    async def _settle(self, active: asyncio.Task[None] | None) -> None:
        if active is not None:
            done, _ = await asyncio.wait({active}, timeout=self.durability.call_timeout_s)
            error = active.exception() if done else None
            if not done:
                active.cancel()
            if error is not None:
                log_exception("thread: its latest stream could not be saved", error)
        if self.thread is not None:
            await self.thread.save(self.durability.store, self.blocks.blocks(), self.reason)
