"""Workers on demand, like Lambda's concurrency: one invocation per worker at a time,
warm workers reused (most recently used first), a cold start when none is free and the
limit allows, otherwise a bounded wait and then :class:`PoolBusy` (the front's 429).
A worker that failed, crashed or timed out is stopped, never reused.

With SnapStart (:attr:`WorkerSpec.snap_start`) the pool keeps one worker initialised ahead of
time and waiting to be restored, as Lambda keeps a version's snapshot: a cold start restores
it (its after-restore hooks, then the invocation) and a new one is initialised in the
background for the next. The spare is a snapshot, not an environment: it does not count
against the concurrency."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from llmrelay.local.workers import Worker, WorkerSpec

__all__ = ["Lease", "PoolBusy", "PoolClosed", "WorkerPool"]


class PoolBusy(Exception):
    """Every worker stayed busy for the whole queue timeout."""


class PoolClosed(Exception):
    """The pool is shutting down."""


@dataclass(frozen=True)
class Lease:
    worker: Worker
    cold: bool


class WorkerPool:
    def __init__(
        self,
        spec: WorkerSpec,
        concurrency: int,
        queue_timeout_s: float = 10.0,
        *,
        keep_spare: bool = True,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.spec = spec
        self.concurrency = concurrency
        self.queue_timeout_s = queue_timeout_s
        self._idle: list[Worker] = []
        self._busy: set[Worker] = set()
        self._live: set[Worker] = set()  # every process not yet stopped, starting ones too
        self._stopping: set[asyncio.Task[None]] = set()
        self._starting = 0
        self._started = 0
        self._closed = False
        self._changed = asyncio.Condition()
        self._spare: asyncio.Task[Worker] | None = None
        self.keep_spare = keep_spare  # SnapStart: prepare the next snapshot after each restore

    @property
    def size(self) -> int:
        return len(self._idle) + len(self._busy) + self._starting

    @asynccontextmanager
    async def lease(self) -> AsyncIterator[Lease]:
        """A worker for one invocation (cold-started if need be), released afterwards;
        ``InitFailed`` when a cold start fails."""
        lease = await self._acquire()
        try:
            yield lease
        finally:
            await self._release(lease.worker)

    async def prepare(self) -> Worker | None:
        """With SnapStart, the spare worker once it is snapshotted (started if need be);
        ``InitFailed`` when its init failed. ``None`` without SnapStart."""
        if not self.spec.snap_start:
            return None
        return await asyncio.shield(self._next_spare())

    def _next_spare(self) -> asyncio.Task[Worker]:
        if self._spare is None:
            self._started += 1
            worker = Worker(self.spec, self._started)
            self._live.add(worker)
            self._spare = asyncio.create_task(self._snapshot(worker))
        return self._spare

    async def _snapshot(self, worker: Worker) -> Worker:
        try:
            await worker.start()
        except BaseException:
            if self._spare is asyncio.current_task():
                self._spare = None  # the next cold start tries anew
            await asyncio.shield(self._stop_later(worker))
            raise
        return worker

    async def close(self) -> None:
        """Stop every worker, busy and starting ones included, and wait until they are."""
        async with self._changed:
            self._closed = True
            self._idle.clear()
            self._changed.notify_all()
        if self._spare is not None:
            self._spare.cancel()
            await asyncio.gather(self._spare, return_exceptions=True)
        for worker in list(self._live):
            self._stop_later(worker)
        while self._stopping:
            await asyncio.gather(*self._stopping, return_exceptions=True)

    async def _acquire(self) -> Lease:
        deadline = time.monotonic() + self.queue_timeout_s
        async with self._changed:
            while True:
                if self._closed:
                    raise PoolClosed
                worker = self._pop_idle()
                if worker is not None:
                    self._busy.add(worker)
                    return Lease(worker, cold=False)
                if self.size < self.concurrency:
                    self._starting += 1
                    break
                await self._wait(deadline)
        worker = await self._cold_start()
        return Lease(worker, cold=True)

    async def _wait(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise TimeoutError
            await asyncio.wait_for(self._changed.wait(), remaining)
        except TimeoutError:
            raise PoolBusy(f"all {self.concurrency} workers busy") from None

    def _pop_idle(self) -> Worker | None:
        while self._idle:
            worker = self._idle.pop()
            if worker.healthy:
                return worker
            self._stop_later(worker)
        return None

    def _stop_later(self, worker: Worker) -> asyncio.Task[None]:
        """Stop ``worker`` in a task of its own, which :meth:`close` waits for."""
        task = asyncio.create_task(self._stop(worker))
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)
        return task

    async def _stop(self, worker: Worker) -> None:
        await worker.stop()
        self._live.discard(worker)

    async def _cold_start(self) -> Worker:
        """A new worker (counted in ``_starting`` already): started, or with SnapStart the
        spare restored, a new spare on its way."""
        worker: Worker | None = None
        try:
            if self.spec.snap_start:
                worker = await asyncio.shield(self._next_spare())
                self._spare = None
                if self.keep_spare and not self._closed:
                    self._next_spare()  # the snapshot for the next cold start
                await worker.restore()
            else:
                self._started += 1
                worker = Worker(self.spec, self._started)
                self._live.add(worker)
                await worker.start()
        except BaseException:
            await self._settle_start(worker, started=False)
            if worker is not None:
                await asyncio.shield(self._stop_later(worker))
            raise
        await self._settle_start(worker, started=True)
        return worker

    async def _settle_start(self, worker: Worker | None, *, started: bool) -> None:
        async with self._changed:
            self._starting -= 1
            closed = self._closed
            if started and not closed and worker is not None:
                self._busy.add(worker)
            self._changed.notify_all()
        if started and closed and worker is not None:
            self._stop_later(worker)
            raise PoolClosed

    async def _release(self, worker: Worker) -> None:
        async with self._changed:
            self._busy.discard(worker)
            keep = worker.healthy and not self._closed
            if keep:
                self._idle.append(worker)
            else:
                self._stop_later(worker)
            self._changed.notify_all()
