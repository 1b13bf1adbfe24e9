"""What a durable stream and a thread are made of in a store. Pure data.

A stream is one :class:`StreamHead` (who owns it, how it is going, whether a stop was asked
for) and numbered :class:`Chunk` items holding its frames: the exact bytes the live client
got, each with its sequence number (the SSE ``id``). A thread is numbered turns, each the
JSON of the messages one request added (its new messages and the answer).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ENDED_STATUSES",
    "Chunk",
    "StreamHead",
    "StreamStatus",
    "ThreadKey",
    "owner_digest",
]

StreamStatus = Literal["running", "done", "stopped", "failed", "incomplete"]
ENDED_STATUSES: frozenset[StreamStatus] = frozenset({"done", "stopped", "failed", "incomplete"})


@dataclass(frozen=True, slots=True)
class StreamHead:
    """A stream's record. ``owner`` is the caller that made it (``""``: an open gateway);
    ``dialect`` says which route's frames it holds (``native``, ``vercel``); ``deadline_ms``
    (epoch) is when its generation ends whatever happens, so a reader never waits past it;
    ``chunks`` is how many chunks were written, once the stream has ended."""

    stream_id: str
    owner: str
    dialect: str
    created_ms: int
    deadline_ms: int
    status: StreamStatus = "running"
    stop: bool = False
    chunks: int = 0

    @property
    def ended(self) -> bool:
        return self.status in ENDED_STATUSES


@dataclass(frozen=True, slots=True)
class Chunk:
    """Chunk ``number`` (from 0) of a stream: ``data`` continues the previous chunk's bytes,
    ``ends`` lists ``(seq, offset)`` for each frame that ends in it (``offset`` counts from
    the start of ``data``); a frame too big for one chunk spans several. ``last``: the
    stream's final chunk (its terminal frame is in it)."""

    number: int
    data: bytes
    ends: tuple[tuple[int, int], ...] = ()
    last: bool = False


@dataclass(frozen=True, slots=True)
class ThreadKey:
    """A thread as its owner sees it: ids are the client's, so each owner has its own."""

    owner: str
    thread_id: str

    @property
    def key(self) -> str:
        return f"{owner_digest(self.owner)}#{self.thread_id}"


def owner_digest(owner: str) -> str:
    """A short fixed-length stand-in for an owner in keys (no key material in the table)."""
    return hashlib.sha256(owner.encode("utf-8", "surrogatepass")).hexdigest()[:32]
