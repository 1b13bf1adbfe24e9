"""``StreamWriter``: a live stream's frames into the store, in batches, beside the client.

The writer never sits in the live stream's way: :meth:`StreamWriter.add` only numbers the
frame and packs it in memory; a task of its own writes the head, then one batch every
``flush_s`` (sooner when a chunk is full), and between batches checks the stop flag every
``stop_poll_s``. A write that fails is retried with the next batch; when the store stays
down (``max_failures`` batches in a row, or a backlog over ``max_backlog_bytes``) the writer
gives the stream up as lost: it writes nothing more but the head's ``incomplete`` status, if
it can, so that a resume says plainly that the stream is incomplete. Either way the log
says what could not be saved.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from llmrelay.durable.chunks import DEFAULT_CHUNK_BYTES, ChunkPacker
from llmrelay.durable.records import Chunk, StreamHead, StreamStatus
from llmrelay.durable.store import DurableStore, StoreUnavailable

__all__ = ["StreamWriter", "WriterPolicy"]


@dataclass(frozen=True, slots=True)
class WriterPolicy:
    """How often the writer writes and looks for a stop, and when it gives up."""

    flush_s: float = 0.25
    stop_poll_s: float = 0.5
    chunk_bytes: int = DEFAULT_CHUNK_BYTES
    max_failures: int = 8
    max_backlog_bytes: int = 1_000_000
    close_timeout_s: float = 3.0


class StreamWriter:
    """Writes one stream (see the module's docstring). ``on_stop`` is called once, on the
    event loop, when the stop flag is found set."""

    def __init__(
        self,
        store: DurableStore,
        head: StreamHead,
        policy: WriterPolicy,
        on_stop: Callable[[], None],
    ) -> None:
        self.store = store
        self.head = head
        self.policy = policy
        self._on_stop = on_stop
        self._packer = ChunkPacker(policy.chunk_bytes)
        self._backlog: list[Chunk] = []
        self._failures = 0
        self._seq = 0
        self._closing = False
        self._status: StreamStatus = "done"
        self._head_written = False
        self._head_settled = asyncio.Event()  # the head is written, or will never be
        self._kick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.lost = False
        self.written = 0  # chunks stored
        self.stop_seen = False

    @property
    def stream_id(self) -> str:
        return self.head.stream_id

    @property
    def next_seq(self) -> int:
        """The seq the next :meth:`add` gives."""
        return self._seq

    def start(self) -> None:
        """Start writing (the head at once); a second call does nothing."""
        if self._task is None:
            name = f"llmrelay-writer-{self.stream_id}"
            self._task = asyncio.create_task(self._run(), name=name)

    async def head_written(self, timeout_s: float) -> bool:
        """Wait at most ``timeout_s`` for the head's first write to end; whether it was
        written (a resume can find the stream from then on)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._head_settled.wait(), timeout_s)
        return self._head_written

    def add(self, frame: bytes) -> int:
        """Number ``frame`` (the next seq, returned) and keep it for the next batch."""
        seq = self._seq
        self._seq += 1
        self._packer.add(seq, frame)
        if self._packer.pending_bytes >= self.policy.chunk_bytes:
            self._kick.set()
        return seq

    async def close(self, status: StreamStatus, timeout_s: float | None = None) -> None:
        """Write what is left as the final chunk and the head's end ``status``, waiting at
        most ``timeout_s`` (default: the policy's); then the writer is done."""
        self._closing = True
        self._status = status
        self._kick.set()
        task = self._task
        if task is None:
            return
        wait_s = self.policy.close_timeout_s if timeout_s is None else max(timeout_s, 0)
        done, _ = await asyncio.wait({task}, timeout=wait_s)
        if not done:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self._note("the store did not take the end of the stream in time")

    # -- the task ------------------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        await self._flush(last=False)  # the head at once: from now on the stream can be found
        self._head_settled.set()
        next_poll = loop.time() + self.policy.stop_poll_s
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), self.policy.flush_s)
            self._kick.clear()
            if self._closing:
                break
            await self._flush(last=False)
            if loop.time() >= next_poll:
                await self._poll_stop()
                next_poll = loop.time() + self.policy.stop_poll_s
        await self._finish()

    async def _finish(self) -> None:
        for attempt in range(3):  # the final chunk matters most: a resume ends with it
            if self.lost or await self._flush(last=attempt == 0):
                break
            await asyncio.sleep(0.05 * (attempt + 1))
        if self._backlog and not self.lost:
            self.lost = True
            self._note("the end of the stream could not be saved")
        if not self._head_written:
            return  # nothing was saved: there is no stream to mark
        status: StreamStatus = "incomplete" if self.lost else self._status
        try:
            await self.store.end_stream(self.stream_id, status, self.written)
        except StoreUnavailable as exc:
            self._note("the stream's end status could not be saved", exc)

    async def _flush(self, *, last: bool) -> bool:
        """Write the backlog and what came since; whether everything is stored now."""
        self._backlog.extend(self._packer.pack(last=last))
        if self.lost:
            self._backlog.clear()
            return False
        try:
            if not self._head_written:
                try:
                    await self.store.put_head(self.head)
                    self._head_written = True
                finally:
                    self._head_settled.set()
            if self._backlog:
                await self.store.put_chunks(self.stream_id, self._backlog)
        except StoreUnavailable as exc:
            self._failures += 1
            backlog = sum(len(chunk.data) for chunk in self._backlog)
            if (
                self._failures >= self.policy.max_failures
                or backlog > self.policy.max_backlog_bytes
            ):
                self._lose(exc)
            else:
                self._note("a batch could not be saved; retrying with the next", exc)
            return False
        if self._backlog:
            self.written = self._backlog[-1].number + 1
        self._backlog.clear()
        self._failures = 0
        return True

    async def _poll_stop(self) -> None:
        if self.stop_seen or self.lost:
            return
        try:
            stop = await self.store.stop_requested(self.stream_id)
        except StoreUnavailable as exc:
            self._note("the stop flag could not be read", exc)
            return
        if stop:
            self.stop_seen = True
            self._on_stop()

    def _lose(self, exc: StoreUnavailable) -> None:
        if not self.lost:
            self.lost = True
            self._backlog.clear()
            self._note("the stream is given up as lost: a resume will say it is incomplete", exc)

    def _note(self, message: str, exc: Exception | None = None) -> None:
        from llmrelay.gateway.logs import log_record  # here: the gateway package imports this

        fields: dict[str, object] = {"stream_id": self.stream_id}
        if exc is not None:
            fields["error"] = str(exc)
        log_record("WARNING", f"durable stream: {message}", **fields)
