"""The streamed ``/response`` follows the event loop's turns. The first turn's writes
leave together, with the request head, when it ends; after that the first write of each
turn leaves at once and what the same turn writes after it leaves in one send, as one
chunk, when the turn ends: a lone token waits for nothing, a burst costs one send, and
nothing is held while the task waits for the app."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from llmrelay.runtime import framing
from llmrelay.runtime.api import ResponseStream

HEAD = b"HEAD\r\n\r\n"


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
    return ResponseStream(connection, HEAD)


async def started(writer: Writer) -> ResponseStream:
    """A stream whose first turn has been sent (the head and one write)."""
    stream = stream_to(writer)
    await stream.write(b"start")
    await asyncio.sleep(0)
    assert writer.writes == [HEAD + framing.chunk(b"start")]
    return stream


async def test_the_first_turn_leaves_with_the_request_head_when_it_ends() -> None:
    writer = Writer()
    stream = stream_to(writer)
    await stream.write(b"prelude", b"meta")
    await stream.write(b"first token")
    assert writer.writes == []  # the app still has the turn
    await asyncio.sleep(0)
    assert writer.writes == [HEAD + framing.chunk(b"preludemetafirst token")]


async def test_later_writes_of_the_same_turn_leave_together_when_it_ends() -> None:
    writer = Writer()
    stream = await started(writer)
    await stream.write(b"one")
    await stream.write(b"two")
    await stream.write(b"three")
    assert writer.writes[1:] == [framing.chunk(b"one")]  # the turn has not ended yet
    await asyncio.sleep(0)
    assert writer.writes[2:] == [framing.chunk(b"twothree")]


async def test_each_later_turn_sends_its_first_write_at_once() -> None:
    writer = Writer()
    stream = await started(writer)
    for part in (b"one", b"two", b"three"):
        await stream.write(part)
        assert writer.writes[-1] == framing.chunk(part)
        await asyncio.sleep(0)
    assert len(writer.writes) == 4


async def test_a_large_burst_is_sent_without_waiting_for_the_turn() -> None:
    writer = Writer()
    stream = stream_to(writer)
    await stream.write(b"first")
    assert writer.writes == []
    await stream.write(b"x" * (70 * 1024))
    assert writer.writes == [HEAD + framing.chunk(b"first" + b"x" * (70 * 1024))]


async def test_finishing_sends_what_is_held_with_the_last_chunk() -> None:
    writer = Writer()
    stream = await started(writer)
    stream._reader.feed_data(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
    await stream.write(b"one")
    await stream.write(b"two")
    reply = await stream.finish()
    assert reply.status == 202
    assert writer.writes[1:] == [framing.chunk(b"one"), framing.chunk(b"two") + framing.LAST_CHUNK]


async def test_finishing_in_the_first_turn_sends_the_head_the_body_and_the_end_at_once() -> None:
    writer = Writer()
    stream = stream_to(writer)
    stream._reader.feed_data(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
    await stream.write(b"whole answer")
    await stream.finish()
    assert writer.writes == [HEAD + framing.chunk(b"whole answer") + framing.LAST_CHUNK]


async def test_closing_abandons_what_was_not_sent_yet() -> None:
    writer = Writer()
    stream = await started(writer)
    await stream.write(b"one")
    await stream.write(b"two")
    stream.close()
    await asyncio.sleep(0)
    assert writer.writes[1:] == [framing.chunk(b"one")]
