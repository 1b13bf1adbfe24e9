"""How the guard hands items from the upstream's task to its consumer: the producer pauses
after the first item (a block's start does not count) until the consumer asks for more (so
what the consumer writes for it leaves before the upstream parses on), never runs more than
a few items ahead, and a heartbeat that times out a wait loses nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from llmrelay.events import BlockStart, Finish, TextDelta, Usage
from llmrelay.gateway.guard import guard
from llmrelay.protocols.base import Heartbeat

FINISH = Finish("stop", Usage(1, 3))


class Counting:
    """An upstream with every item ready at once, counting how many were taken from it."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.produced = 0

    async def stream(self) -> AsyncIterator[TextDelta | Finish]:
        for index in range(self.count):
            self.produced += 1
            yield TextDelta(str(index))
        yield FINISH


async def test_the_producer_waits_after_the_first_item_until_the_consumer_asks_again() -> None:
    upstream = Counting(50)
    items = guard(upstream.stream())
    first = await anext(items)
    for _ in range(5):  # however long the consumer takes to pass the first item on
        await asyncio.sleep(0)
    assert (first, upstream.produced) == (TextDelta("0"), 1)
    await anext(items)
    await items.aclose()


async def test_a_blocks_start_does_not_count_as_the_first_item() -> None:
    produced: list[object] = []

    async def upstream() -> AsyncIterator[BlockStart | TextDelta | Finish]:
        for item in (BlockStart(0, "text"), TextDelta("a"), TextDelta("b")):
            produced.append(item)
            yield item
        yield FINISH

    items = guard(upstream())
    first = await anext(items)
    for _ in range(5):
        await asyncio.sleep(0)
    # the block's start and its first delta were both ready for the first frames
    assert (first, produced) == (BlockStart(0, "text"), [BlockStart(0, "text"), TextDelta("a")])
    assert await anext(items) == TextDelta("a")
    await items.aclose()


async def test_the_producer_never_runs_far_ahead_of_the_consumer() -> None:
    upstream = Counting(50)
    items = guard(upstream.stream())
    await anext(items)
    await anext(items)
    for _ in range(20):
        await asyncio.sleep(0)
    assert upstream.produced <= 10
    await items.aclose()


async def test_every_item_arrives_once_and_in_order() -> None:
    upstream = Counting(100)
    received = [item async for item in guard(upstream.stream())]
    assert received == [TextDelta(str(i)) for i in range(100)] + [FINISH]


async def test_an_item_arriving_as_a_heartbeat_wait_ends_is_not_lost() -> None:
    gate = asyncio.Event()

    async def slow() -> AsyncIterator[TextDelta | Finish]:
        await gate.wait()
        yield TextDelta("late")
        yield FINISH

    items = guard(slow(), heartbeat_s=0.01)
    assert await anext(items) == Heartbeat()
    gate.set()
    rest = [item async for item in items if not isinstance(item, Heartbeat)]
    assert rest == [TextDelta("late"), FINISH]
