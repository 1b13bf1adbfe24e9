"""Frames to chunks and back. Pure.

:class:`ChunkPacker` turns a stream's frames, as they come, into :class:`Chunk` items of at
most ``max_bytes`` of data (a bigger frame spans several chunks), one :meth:`pack` per
flush. :class:`FrameReader` is the other end: chunks in order in, whole frames out, and it
notices a chunk that is missing (a write that failed) rather than skipping over it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from llmrelay.durable.records import Chunk

__all__ = ["DEFAULT_CHUNK_BYTES", "ChunkPacker", "FrameReader", "Gap"]

# DynamoDB items hold at most 400 KB, names and all: a quarter of that leaves a wide margin.
DEFAULT_CHUNK_BYTES = 100_000


class Gap(Exception):
    """A chunk is missing: the stored stream has a hole from chunk ``expected`` on."""

    def __init__(self, expected: int, found: int) -> None:
        super().__init__(f"chunk {expected} is missing (next stored: {found})")
        self.expected = expected
        self.found = found


class ChunkPacker:
    """Collects ``(seq, frame)`` pairs; :meth:`pack` returns the chunks they fill."""

    def __init__(self, max_bytes: int = DEFAULT_CHUNK_BYTES) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be at least 1")
        self.max_bytes = max_bytes
        self.next_number = 0
        self._data = bytearray()
        self._ends: list[tuple[int, int]] = []
        self.pending_bytes = 0

    def add(self, seq: int, frame: bytes) -> None:
        if not frame:  # an empty frame would be invisible to a reader
            raise ValueError("a frame holds at least one byte")
        self._data += frame
        self._ends.append((seq, len(self._data)))
        self.pending_bytes = len(self._data)

    def pack(self, *, last: bool = False) -> list[Chunk]:
        """Everything added since the last call, as chunks (none when nothing was added,
        unless ``last`` asks for the final chunk, which may then be empty)."""
        data, ends = bytes(self._data), self._ends
        self._data, self._ends, self.pending_bytes = bytearray(), [], 0
        if not data and not last:
            return []
        chunks: list[Chunk] = []
        start = 0
        while True:
            stop = min(start + self.max_bytes, len(data))
            inside = tuple((seq, end - start) for seq, end in ends if start < end <= stop)
            final = last and stop == len(data)
            chunks.append(Chunk(self.next_number, data[start:stop], inside, final))
            self.next_number += 1
            start = stop
            if start >= len(data):
                return chunks


class FrameReader:
    """Chunk by chunk in order (:meth:`feed`), the whole frames, each with its seq."""

    def __init__(self) -> None:
        self.next_number = 0
        self.ended = False
        self._carry = b""

    def feed(self, chunk: Chunk) -> Iterator[tuple[int, bytes]]:
        """The frames that ``chunk`` completes; raises :class:`Gap` when it is not the next."""
        if chunk.number != self.next_number:
            raise Gap(self.next_number, chunk.number)
        self.next_number += 1
        self.ended = chunk.last
        data, base, begin = self._carry + chunk.data, len(self._carry), 0
        for seq, end in chunk.ends:
            yield seq, data[begin : base + end]
            begin = base + end
        self._carry = data[begin:]

    def feed_all(self, chunks: Iterable[Chunk]) -> Iterator[tuple[int, bytes]]:
        for chunk in chunks:
            yield from self.feed(chunk)
