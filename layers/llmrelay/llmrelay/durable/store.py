"""Where durable streams and threads live: the :class:`DurableStore` protocol, and
:class:`MemoryStore`, the in-process one (tests, a library user's single process).

Every method is a coroutine that either does its work or raises :class:`StoreUnavailable`,
within a bounded time: a store must never hang its caller. Owners are compared by the
callers (the gateway), except where a write must be conditional on them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from llmrelay.durable.records import Chunk, StreamHead, StreamStatus, ThreadKey
from llmrelay.errors import LLMRelayError

__all__ = ["DurableStore", "MemoryStore", "StoreUnavailable", "StreamIncomplete"]


class StoreUnavailable(LLMRelayError):
    """The durable store could not be read or written in time."""

    code = "store_unavailable"
    status = 503
    retryable = True


class StreamIncomplete(LLMRelayError):
    """A stored stream has a hole or no end: what was saved is all a resume can give."""

    code = "stream_incomplete"
    status = 502


class DurableStore(Protocol):
    async def put_head(self, head: StreamHead) -> None:
        """Create (or replace) a stream's head."""
        ...

    async def get_head(self, stream_id: str) -> StreamHead | None: ...

    async def put_chunks(self, stream_id: str, chunks: Sequence[Chunk]) -> None:
        """Store ``chunks`` (idempotent: a chunk written twice is the same chunk)."""
        ...

    async def get_chunks(self, stream_id: str, start: int = 0) -> list[Chunk]:
        """The stored chunks numbered ``start`` and up, in order."""
        ...

    async def request_stop(self, stream_id: str, owner: str) -> StreamHead | None:
        """Flag a running stream of ``owner`` to stop; its head as it now is (``None`` when
        there is no such stream of that owner). An ended stream is left as it is."""
        ...

    async def stop_requested(self, stream_id: str) -> bool: ...

    async def end_stream(self, stream_id: str, status: StreamStatus, chunks: int) -> None:
        """Mark the stream ended, with the number of chunks written."""
        ...

    async def get_turns(self, thread: ThreadKey) -> list[bytes]:
        """The thread's turns in order (each the JSON its writer stored)."""
        ...

    async def add_turn(self, thread: ThreadKey, number: int, turn: bytes) -> bool:
        """Store turn ``number``; ``False`` when that number is taken already."""
        ...

    async def delete_thread(self, thread: ThreadKey) -> int:
        """Remove every turn; how many there were."""
        ...

    async def set_active(self, thread: ThreadKey, stream_id: str) -> None:
        """The thread's latest stream (what a client resumes after a reload)."""
        ...

    async def get_active(self, thread: ThreadKey) -> str | None: ...


class MemoryStore:
    """A :class:`DurableStore` in this process's memory (no retention: it lives as long as
    the object). ``fail`` makes every call raise :class:`StoreUnavailable` (tests)."""

    def __init__(self) -> None:
        self.heads: dict[str, StreamHead] = {}
        self.chunks: dict[str, dict[int, Chunk]] = {}
        self.turns: dict[str, dict[int, bytes]] = {}
        self.active: dict[str, str] = {}
        self.fail = False
        self.calls = 0

    async def _enter(self) -> None:
        self.calls += 1
        await asyncio.sleep(0)  # a real store answers later, never inline
        if self.fail:
            raise StoreUnavailable("the durable store is unavailable")

    async def put_head(self, head: StreamHead) -> None:
        await self._enter()
        self.heads[head.stream_id] = head

    async def get_head(self, stream_id: str) -> StreamHead | None:
        await self._enter()
        return self.heads.get(stream_id)

    async def put_chunks(self, stream_id: str, chunks: Sequence[Chunk]) -> None:
        await self._enter()
        stored = self.chunks.setdefault(stream_id, {})
        stored.update((chunk.number, chunk) for chunk in chunks)

    async def get_chunks(self, stream_id: str, start: int = 0) -> list[Chunk]:
        await self._enter()
        stored = self.chunks.get(stream_id, {})
        return [stored[number] for number in sorted(stored) if number >= start]

    async def request_stop(self, stream_id: str, owner: str) -> StreamHead | None:
        await self._enter()
        head = self.heads.get(stream_id)
        if head is None or head.owner != owner:
            return None
        if not head.ended:
            head = self.heads[stream_id] = replace(head, stop=True)
        return head

    async def stop_requested(self, stream_id: str) -> bool:
        await self._enter()
        head = self.heads.get(stream_id)
        return head is not None and head.stop

    async def end_stream(self, stream_id: str, status: StreamStatus, chunks: int) -> None:
        await self._enter()
        head = self.heads.get(stream_id)
        if head is not None:
            self.heads[stream_id] = replace(head, status=status, chunks=chunks)

    async def get_turns(self, thread: ThreadKey) -> list[bytes]:
        await self._enter()
        turns = self.turns.get(thread.key, {})
        return [turns[number] for number in sorted(turns)]

    async def add_turn(self, thread: ThreadKey, number: int, turn: bytes) -> bool:
        await self._enter()
        turns = self.turns.setdefault(thread.key, {})
        if number in turns:
            return False
        turns[number] = turn
        return True

    async def delete_thread(self, thread: ThreadKey) -> int:
        await self._enter()
        self.active.pop(thread.key, None)
        return len(self.turns.pop(thread.key, {}))

    async def set_active(self, thread: ThreadKey, stream_id: str) -> None:
        await self._enter()
        self.active[thread.key] = stream_id

    async def get_active(self, thread: ThreadKey) -> str | None:
        await self._enter()
        return self.active.get(thread.key)
