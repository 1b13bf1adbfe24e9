"""``timed``: first-token, idle and total timeouts on a stream, and its closing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass

import pytest

from llmrelay.errors import DeadlineExceeded, LLMRelayError, UpstreamTimeout
from llmrelay.resilience import timed

MODEL = "openai/gpt-4o-mini"


@dataclass
class Paced:
    """Yields ``items`` after the given pauses (seconds) and records its closing."""

    steps: tuple[tuple[float, str], ...]
    closed: bool = False

    async def stream(self) -> AsyncGenerator[str, None]:
        try:
            for pause, item in self.steps:
                await asyncio.sleep(pause)
                yield item
        finally:
            self.closed = True


async def run(
    paced: Paced,
    *,
    first_s: float | None = None,
    idle_s: float | None = None,
    total_s: float | None = None,
) -> tuple[list[str], LLMRelayError | None]:
    end_at = None if total_s is None else asyncio.get_running_loop().time() + total_s
    events = timed(paced.stream(), model_id=MODEL, first_s=first_s, idle_s=idle_s, end_at=end_at)
    items: list[str] = []
    try:
        async for item in events:
            items.append(item)
    except LLMRelayError as exc:
        return items, exc
    return items, None


SLOW_FIRST = ((0.3, "a"), (0, "b"))
STALL = ((0, "a"), (0, "b"), (0.3, "c"))
STEADY = ((0.02, "a"), (0.02, "b"), (0.02, "c"), (0.02, "d"))
# Two quick items, then a long gap: the total limit falls far from every item, so a loaded
# machine's late timers cannot move the cut to another item.
TWO_THEN_GAP = ((0.01, "a"), (0.01, "b"), (0.6, "c"), (0.01, "d"))

CASES = [
    pytest.param(STEADY, {}, ["a", "b", "c", "d"], None, id="no-limits"),
    pytest.param(STEADY, {"first_s": 0.2, "idle_s": 0.2}, ["a", "b", "c", "d"], None, id="in-time"),
    pytest.param(SLOW_FIRST, {"first_s": 0.05}, [], UpstreamTimeout, id="first-token"),
    pytest.param(SLOW_FIRST, {"idle_s": 0.05}, ["a", "b"], None, id="idle-is-not-first"),
    pytest.param(STALL, {"idle_s": 0.05}, ["a", "b"], UpstreamTimeout, id="idle"),
    pytest.param(STALL, {"first_s": 0.05}, ["a", "b", "c"], None, id="first-is-not-idle"),
    pytest.param(TWO_THEN_GAP, {"total_s": 0.25}, ["a", "b"], DeadlineExceeded, id="total"),
    pytest.param(
        SLOW_FIRST, {"first_s": 1.0, "total_s": 0.05}, [], DeadlineExceeded, id="total-first"
    ),
]


@pytest.mark.parametrize(("steps", "limits", "items", "error"), CASES)
async def test_each_wait_is_bounded_and_the_stream_closed(
    steps: tuple[tuple[float, str], ...],
    limits: dict[str, float],
    items: list[str],
    error: type[LLMRelayError] | None,
) -> None:
    paced = Paced(steps)
    got, raised = await run(paced, **limits)
    assert got == items
    assert type(raised) is (error or type(None))
    assert paced.closed


async def test_a_timeout_says_which_limit_and_which_model() -> None:
    _, first = await run(Paced(SLOW_FIRST), first_s=0.05)
    _, idle = await run(Paced(STALL), idle_s=0.05)
    assert first is not None
    assert idle is not None
    assert "first-token timeout (50 ms)" in first.message
    assert "idle timeout (50 ms)" in idle.message
    assert first.provider == idle.provider == "openai"


async def test_closing_early_closes_the_inner_stream() -> None:
    paced = Paced(STEADY)
    events = timed(paced.stream(), model_id=MODEL, first_s=1, idle_s=1, end_at=None)
    assert await anext(events) == "a"
    await events.aclose()
    assert paced.closed


class OwnTimeout:
    """A stream whose own read fails with ``TimeoutError`` (not one of ``timed``'s)."""

    def __aiter__(self) -> OwnTimeout:
        return self

    async def __anext__(self) -> str:
        raise TimeoutError("the upstream's own")


async def test_a_timeout_error_of_the_stream_itself_is_not_mistaken_for_one_of_ours() -> None:
    events = timed(OwnTimeout(), model_id=MODEL, first_s=5, idle_s=5, end_at=None)
    with pytest.raises(TimeoutError, match="the upstream's own"):
        await anext(events)
