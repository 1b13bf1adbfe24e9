"""``replay``: a stored stream's frames, from the one after ``after``, then its live ones
as they are stored, up to its terminal frame. Any instance can do it: only the store is
shared.

The reader follows the store every ``poll_s``. It ends with its dialect's error frame,
never by hanging, when the stream is incomplete (a missing chunk, the head marked
``incomplete``, or no end long after the generation's own deadline), when the store stays
unreachable, and at this reader's own ``deadline`` (``deadline_exceeded``, retryable: the
client resumes again from its last id).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass

from llmrelay.durable.chunks import FrameReader, Gap
from llmrelay.durable.records import StreamHead
from llmrelay.durable.store import DurableStore, StoreUnavailable, StreamIncomplete
from llmrelay.errors import DeadlineExceeded, LLMRelayError
from llmrelay.sse import PING

__all__ = ["ReplayPolicy", "replay"]

ErrorFrame = Callable[[LLMRelayError], bytes]


@dataclass(frozen=True, slots=True)
class ReplayPolicy:
    poll_s: float = 0.25
    ping_s: float = 10.0
    # How long past the generation's deadline a stream without an end is still waited for.
    grace_ms: int = 5_000
    store_failures: int = 4  # reads in a row that may fail before the reader gives up


def _now_ms() -> int:
    return int(time.time() * 1000)


async def replay(
    store: DurableStore,
    head: StreamHead,
    after: int,
    error_frame: ErrorFrame,
    *,
    policy: ReplayPolicy | None = None,
    deadline: float | None = None,
    clock_ms: Callable[[], int] = _now_ms,
) -> AsyncGenerator[bytes, None]:
    """The frames whose seq is over ``after`` (``-1``: all), pings while the stream is
    quiet, and an error frame if it cannot end with its own terminal frame."""
    policy = policy or ReplayPolicy()
    loop = asyncio.get_running_loop()
    reader = FrameReader()
    failures = 0
    quiet_since = loop.time()
    while True:
        try:
            chunks = await store.get_chunks(head.stream_id, reader.next_number)
            if not chunks and not reader.ended:
                head = await store.get_head(head.stream_id) or head
            failures = 0
        except StoreUnavailable as exc:
            failures += 1
            if failures >= policy.store_failures:
                yield error_frame(exc)
                return
            chunks = []
        try:
            for chunk in chunks:
                for seq, frame in reader.feed(chunk):
                    if seq > after:
                        yield frame
                        quiet_since = loop.time()
        except Gap as gap:
            yield error_frame(StreamIncomplete(f"the stored stream is incomplete: {gap}"))
            return
        if reader.ended:
            return
        if not chunks:
            problem = _stalled(head, reader.next_number, clock_ms(), policy)
            if problem is not None:
                yield error_frame(problem)
                return
        if deadline is not None and loop.time() + policy.poll_s >= deadline:
            yield error_frame(DeadlineExceeded("the resume's time limit is near: resume again"))
            return
        if loop.time() - quiet_since >= policy.ping_s:
            yield PING
            quiet_since = loop.time()
        await asyncio.sleep(policy.poll_s)


def _stalled(
    head: StreamHead, next_chunk: int, now_ms: int, policy: ReplayPolicy
) -> StreamIncomplete | None:
    """Why no more chunks will come, or ``None`` while they still may."""
    if head.status == "incomplete":
        return StreamIncomplete("the stream could not be saved whole: this is all there is")
    if head.ended and head.chunks <= next_chunk:
        return StreamIncomplete("the stored stream ends without its last event")
    if now_ms > head.deadline_ms + policy.grace_ms:
        return StreamIncomplete("the stream's generation ended without saving its end")
    return None
