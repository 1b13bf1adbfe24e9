"""``timed``: one attempt's event stream with its timeouts applied item by item.

Each wait for the next item runs under ``asyncio.timeout_at`` in the consumer's own task,
so an SDK stream never hops tasks; when a wait times out the SDK read is cancelled where
it stands (its ``finally`` closes the HTTP response) and the stream is closed. Whatever
ends the timed stream (its end, an error, a timeout, the consumer closing it) closes the
inner stream (``aclose``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TypeVar

from llmrelay.errors import DeadlineExceeded, LLMRelayError, UpstreamTimeout

__all__ = ["timed"]

E = TypeVar("E")


async def _close(events: AsyncIterator[E]) -> None:
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        await aclose()


def _limit(now: float, wait_s: float | None, end_at: float | None) -> tuple[float | None, bool]:
    """When the next wait times out, and whether it is ``end_at`` (the total) that ends it."""
    item_at = None if wait_s is None else now + wait_s
    if end_at is not None and (item_at is None or end_at <= item_at):
        return end_at, True
    return item_at, False


def _timeout_error(model_id: str, first: bool, wait_s: float | None) -> LLMRelayError:
    provider = model_id.partition("/")[0]
    millis = round((wait_s or 0) * 1000)
    if first:
        message = f"{model_id} sent nothing within the first-token timeout ({millis} ms)"
    else:
        message = f"{model_id} went silent mid-answer for the idle timeout ({millis} ms)"
    return UpstreamTimeout(message, provider=provider)


async def timed(
    events: AsyncIterator[E],
    *,
    model_id: str,
    first_s: float | None,
    idle_s: float | None,
    end_at: float | None,
) -> AsyncGenerator[E, None]:
    """``events``, where the first item must come within ``first_s`` (else
    ``UpstreamTimeout``), each next one within ``idle_s`` of the one before (else
    ``UpstreamTimeout``), and all by ``end_at`` on the running loop's clock (else
    ``DeadlineExceeded``). ``None`` disables a limit."""
    loop = asyncio.get_running_loop()
    first = True
    try:
        while True:
            wait_s = first_s if first else idle_s
            when, total = _limit(loop.time(), wait_s, end_at)
            try:
                async with asyncio.timeout_at(when) as scope:
                    event = await anext(events)
            except StopAsyncIteration:
                return
            except TimeoutError:
                if not scope.expired():
                    raise
                if total:
                    raise DeadlineExceeded("the answer ran out of its total time") from None
                raise _timeout_error(model_id, first, wait_s) from None
            first = False
            yield event
    finally:
        await _close(events)
