"""The streamed ``/response`` writes what the app produces together until the writing task
next waits: the prelude with the first frames, a burst of frames in one send, and nothing
held while the task waits for the app."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from llmrelay.runtime import framing
from llmrelay.runtime.api import ResponseStream


class Writer:
    """Records each ``write`` (one send on a real socket)."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    async def drain(self) -> None:
        return None

    def close(self) -> None:
        return None


def stream_to(writer: Writer) -> ResponseStream:
    connection = cast(Any, (asyncio.StreamReader(), writer))
    return ResponseStream(connection, b"HEAD\r\n\r\n")


async def test_frames_written_before_the_task_waits_leave_in_one_send() -> None:
    writer = Writer()
    stream = stream_to(writer)
    await stream.write(b"prelude", b"meta")
    await stream.write(b"delta")
    assert writer.writes == []  # the task has not waited yet
    await asyncio.sleep(0)
    expected = b"HEAD\r\n\r\n" + b"".join(map(framing.chunk, (b"prelude", b"meta", b"delta")))
    assert writer.writes == [expected]


async def test_a_frame_leaves_as_soon_as_the_task_waits() -> None:
    writer = Writer()
    stream = stream_to(writer)
    await stream.write(b"one")
    await asyncio.sleep(0)
    await stream.write(b"two")
    await asyncio.sleep(0)
    assert writer.writes[1:] == [framing.chunk(b"two")]


async def test_a_large_burst_is_sent_without_waiting() -> None:
    writer = Writer()
    stream = stream_to(writer)
    await stream.write(b"x" * (70 * 1024))
    assert len(writer.writes) == 1


async def test_closing_abandons_what_was_not_sent_yet() -> None:
    writer = Writer()
    stream = stream_to(writer)
    await stream.write(b"one")
    stream.close()
    await asyncio.sleep(0)
    assert writer.writes == []
