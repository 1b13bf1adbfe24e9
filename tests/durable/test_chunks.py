from __future__ import annotations

import pytest

from llmrelay.durable import Chunk, ChunkPacker, FrameReader, Gap

FRAMES = [b"id: 0\nevent: meta\ndata: {}\n\n", b"id: 1\ndata: x\n\n", b"id: 2\ndata: " + b"y" * 50]


def replayed(chunks: list[Chunk]) -> list[tuple[int, bytes]]:
    return list(FrameReader().feed_all(chunks))


@pytest.mark.parametrize("max_bytes", [1, 7, 16, 1000], ids=lambda n: f"max{n}")
def test_frames_come_back_whole_and_in_order_whatever_the_chunk_size(max_bytes: int) -> None:
    packer = ChunkPacker(max_bytes)
    chunks: list[Chunk] = []
    for seq, frame in enumerate(FRAMES):
        packer.add(seq, frame)
        chunks += packer.pack(last=seq == len(FRAMES) - 1)
    assert all(len(chunk.data) <= max_bytes for chunk in chunks)
    assert [chunk.number for chunk in chunks] == list(range(len(chunks)))
    assert [chunk.last for chunk in chunks] == [False] * (len(chunks) - 1) + [True]
    assert replayed(chunks) == list(enumerate(FRAMES))


def test_a_flush_with_nothing_new_makes_no_chunk_but_the_last_one_always_exists() -> None:
    packer = ChunkPacker()
    assert packer.pack() == []
    assert packer.pack(last=True) == [Chunk(0, b"", (), True)]


def test_several_frames_share_a_chunk() -> None:
    packer = ChunkPacker()
    packer.add(0, b"ab")
    packer.add(1, b"cd")
    assert packer.pending_bytes == 4
    assert packer.pack() == [Chunk(0, b"abcd", ((0, 2), (1, 4)))]
    assert packer.pending_bytes == 0


def test_an_empty_frame_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one byte"):
        ChunkPacker().add(0, b"")
    with pytest.raises(ValueError, match="max_bytes"):
        ChunkPacker(0)


def test_a_missing_chunk_is_a_gap_not_a_skip() -> None:
    reader = FrameReader()
    assert list(reader.feed(Chunk(0, b"ab", ((0, 2),)))) == [(0, b"ab")]
    with pytest.raises(Gap) as caught:
        list(reader.feed(Chunk(2, b"cd", ((2, 2),))))
    assert (caught.value.expected, caught.value.found) == (1, 2)
    assert not reader.ended
