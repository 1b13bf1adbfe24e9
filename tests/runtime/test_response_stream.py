"""The streamed ``/response`` sends the first write of each event-loop turn at once and
what the same turn writes after it in one send when the turn ends: a lone token waits for
nothing, a burst costs one send, and nothing is held while the task waits for the app."""

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


async def test_the_first_write_leaves_at_once_with_the_request_head() -> None:
    writer = Writer()
    stream = stream_to(writer)
    await stream.write(b"prelude", b"meta")
    assert writer.writes == [b"HEAD\r\n\r\n" + framing.chunk(b"prelude") + framing.chunk(b"meta")]


async def test_later_writes_of_the_same_turn_leave_together_when_it_ends() -> None:
    writer = Writer()
    stream = stream_to(writer)
    await stream.write(b"one")
    await stream.write(b"two")
    await stream.write(b"three")
    assert len(writer.writes) == 1  # the turn has not ended yet
    await asyncio.sleep(0)
    assert writer.writes[1:] == [framing.chunk(b"two") + framing.chunk(b"three")]


async def test_each_turn_sends_its_first_write_at_once() -> None:
    writer = Writer()
    stream = stream_to(writer)
    for part in (b"one", b"two", b"three"):
        await stream.write(part)
        assert writer.writes[-1].endswith(framing.chunk(part))
        await asyncio.sleep(0)
    assert len(writer.writes) == 3


async def test_a_large_burst_is_sent_without_waiting_for_the_turn() -> None:
    writer = Writer()
    stream = stream_to(writer)
    await stream.write(b"first")
    await stream.write(b"x" * (70 * 1024))
    assert len(writer.writes) == 2


async def test_finishing_sends_what_is_held_with_the_last_chunk() -> None:
    writer = Writer()
    stream = stream_to(writer)
    stream._reader.feed_data(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
    await stream.write(b"one")
    await stream.write(b"two")
    reply = await stream.finish()
    assert reply.status == 202
    assert writer.writes[1:] == [framing.chunk(b"two") + framing.LAST_CHUNK]


async def test_closing_abandons_what_was_not_sent_yet() -> None:
    writer = Writer()
    stream = stream_to(writer)
    await stream.write(b"one")
    await stream.write(b"two")
    stream.close()
    await asyncio.sleep(0)
    assert len(writer.writes) == 1
