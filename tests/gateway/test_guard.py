from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest
from tests.gateway.fakes import Context, Pause, Script, Step

from llmrelay.errors import LLMRelayError, RateLimited, UpstreamTimeout
from llmrelay.events import Failure, Finish, TextDelta, Usage
from llmrelay.gateway.guard import deadline_from, guard
from llmrelay.protocols.base import Heartbeat, StreamItem

FINISH = Finish("stop", Usage(3, 2))


async def run(
    script: Script, *, deadline_in: float | None = None, heartbeat_s: float | None = None
) -> list[StreamItem]:
    loop = asyncio.get_running_loop()
    deadline = None if deadline_in is None else loop.time() + deadline_in
    items = guard(script.stream(), deadline=deadline, heartbeat_s=heartbeat_s, request_id="r-9")
    return [item async for item in items]


def terminal(items: list[StreamItem]) -> Finish | Failure:
    last = items[-1]
    assert isinstance(last, Finish | Failure)
    return last


async def test_a_good_stream_passes_through_unchanged() -> None:
    script = Script((TextDelta("a"), TextDelta("b"), FINISH))
    assert await run(script) == [TextDelta("a"), TextDelta("b"), FINISH]
    assert script.closed


FAILURES = [
    pytest.param((RateLimited("slow", retry_after=1),), "rate_limited", 0, id="error-first"),
    pytest.param(
        (TextDelta("a"), TextDelta("b"), UpstreamTimeout("x")),
        "upstream_timeout",
        2,
        id="error-late",
    ),
    pytest.param((TextDelta("a"),), "upstream_unavailable", 1, id="ends-without-finish"),
    pytest.param((TextDelta("a"), KeyError("k")), "internal_error", 1, id="unexpected"),
]


@pytest.mark.parametrize(("steps", "code", "output_tokens"), FAILURES)
async def test_failures_become_one_terminal_failure_with_the_usage_so_far(
    steps: tuple[Step, ...], code: str, output_tokens: int
) -> None:
    script = Script(steps)
    items = await run(script)
    failure = terminal(items)
    assert isinstance(failure, Failure)
    assert failure.error.code == code
    assert failure.usage == Usage(input_tokens=0, output_tokens=output_tokens)
    assert script.closed


async def test_an_upstream_that_cancels_itself_ends_at_once_not_at_the_deadline() -> None:
    script = Script((TextDelta("a"), asyncio.CancelledError()))
    started = time.monotonic()
    items = await run(script, deadline_in=5)
    assert time.monotonic() - started < 0.5
    failure = terminal(items)
    assert isinstance(failure, Failure)
    assert (failure.error.code, failure.usage) == ("upstream_unavailable", Usage(0, 1))
    assert script.closed


async def test_a_failure_from_the_upstream_passes_through_with_its_usage() -> None:
    failure = Failure(UpstreamTimeout("x"), Usage(5, 1))
    assert await run(Script((TextDelta("a"), failure))) == [TextDelta("a"), failure]


async def test_an_unexpected_error_is_generic_for_the_client_and_logged_redacted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = "sk-proj-abcdefghijklmnop1234"
    failure = terminal(await run(Script((RuntimeError(f"bad key {secret}"),))))
    assert isinstance(failure, Failure)
    assert type(failure.error) is LLMRelayError
    assert failure.error.message == "internal error (request r-9)"
    [line] = capsys.readouterr().err.splitlines()
    record = json.loads(line)
    assert (record["level"], record["error_type"], record["request_id"]) == (
        "ERROR",
        "RuntimeError",
        "r-9",
    )
    assert "RuntimeError" in record["traceback"]
    assert secret not in line


async def test_nothing_after_the_finish_is_read() -> None:
    script = Script((TextDelta("a"), FINISH, TextDelta("late")))
    assert await run(script) == [TextDelta("a"), FINISH]
    assert script.read == 2
    assert script.closed


async def test_the_deadline_ends_a_slow_stream_in_time_and_closes_the_upstream() -> None:
    script = Script((TextDelta("a"), Pause(10), TextDelta("never"), FINISH))
    started = time.monotonic()
    items = await run(script, deadline_in=0.2)
    elapsed = time.monotonic() - started
    failure = terminal(items)
    assert isinstance(failure, Failure)
    assert (failure.error.code, failure.usage) == ("deadline_exceeded", Usage(0, 1))
    assert items[:-1] == [TextDelta("a")]
    assert 0.15 < elapsed < 0.5
    assert script.closed


async def test_a_deadline_already_past_reads_nothing_and_still_closes_the_upstream() -> None:
    script = Script((TextDelta("a"), FINISH))
    items = await run(script, deadline_in=-1)
    failure = terminal(items)
    assert isinstance(failure, Failure)
    assert failure.error.code == "deadline_exceeded"
    assert len(items) == 1
    assert script.read == 0


async def test_the_deadline_holds_even_when_the_upstream_ignores_cancellation(
    capsys: pytest.CaptureFixture[str],
) -> None:
    release = asyncio.Event()

    async def stubborn() -> AsyncIterator[TextDelta]:
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue
        yield TextDelta("late")

    started = time.monotonic()
    try:
        deadline = asyncio.get_running_loop().time() + 0.1
        items = [i async for i in guard(stubborn(), deadline=deadline)]
        elapsed = time.monotonic() - started
    finally:
        # Whatever happened above, the stubborn upstream must end: left waiting, it would
        # hang the event loop's close at the end of the run.
        release.set()
        await asyncio.sleep(0.01)
    assert elapsed < 2.0  # the 0.1 s deadline, plus the grace, on a loaded machine
    assert [type(i) for i in items] == [Failure]
    assert "ignored cancellation" in capsys.readouterr().err


class Countdown:
    """An async iterator that is not a generator: it has no ``aclose``."""

    def __init__(self) -> None:
        self.items: list[TextDelta | Finish] = [TextDelta("a"), FINISH]

    def __aiter__(self) -> Countdown:
        return self

    async def __anext__(self) -> TextDelta | Finish:
        if not self.items:
            raise StopAsyncIteration
        return self.items.pop(0)


async def test_a_plain_async_iterator_is_guarded_too() -> None:
    assert [item async for item in guard(Countdown())] == [TextDelta("a"), FINISH]


async def test_an_upstream_whose_cleanup_fails_still_ends_cleanly(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def messy() -> AsyncIterator[TextDelta | Finish]:
        try:
            yield TextDelta("a")
            yield FINISH
        finally:
            raise OSError("socket already gone")

    assert [item async for item in guard(messy())] == [TextDelta("a"), FINISH]
    assert "closing the upstream stream failed" in capsys.readouterr().err


async def test_heartbeats_fill_silences_and_no_item_is_lost() -> None:
    script = Script((TextDelta("a"), Pause(0.2), TextDelta("b"), FINISH))
    items = await run(script, heartbeat_s=0.05)
    assert [i for i in items if not isinstance(i, Heartbeat)] == [
        TextDelta("a"),
        TextDelta("b"),
        FINISH,
    ]
    beats = items.index(TextDelta("b")) - 1
    assert 1 <= beats <= 4
    assert all(isinstance(i, Heartbeat) for i in items[1 : 1 + beats])


async def test_a_consumer_that_stops_early_closes_the_upstream() -> None:
    script = Script((TextDelta("a"), Pause(10), FINISH))
    items = guard(script.stream())
    assert await anext(items) == TextDelta("a")
    await items.aclose()
    assert script.closed


async def test_cancelling_the_consumer_propagates_and_closes_the_upstream() -> None:
    script = Script((TextDelta("a"), Pause(10), FINISH))

    async def consume() -> list[StreamItem]:
        return [item async for item in guard(script.stream())]

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert script.closed


SCRIPTS = [
    pytest.param((FINISH,), id="finish"),
    pytest.param((TextDelta("a"), RateLimited("x")), id="error"),
    pytest.param((TextDelta("a"), ValueError("x")), id="crash"),
    pytest.param((TextDelta("a"),), id="truncated"),
    pytest.param((TextDelta("a"), Pause(1), FINISH), id="deadline"),
    pytest.param((Failure(RateLimited("x")), FINISH), id="two-terminals"),
]


@pytest.mark.parametrize("steps", SCRIPTS)
async def test_every_guarded_stream_ends_with_exactly_one_terminal_item(
    steps: tuple[Step, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    script = Script(steps)
    items = await run(script, deadline_in=0.1, heartbeat_s=0.03)
    assert isinstance(items[-1], Finish | Failure)
    assert sum(isinstance(i, Finish | Failure) for i in items) == 1
    assert script.closed


async def test_deadline_from_keeps_the_margin_before_the_context_deadline() -> None:
    loop = asyncio.get_running_loop()
    deadline = deadline_from(Context(remaining_ms=1000), margin_ms=300)
    assert 0.6 < deadline - loop.time() <= 0.7
