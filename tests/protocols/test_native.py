from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from tests.protocols.sse_reader import read_json_events, read_sse

from llmrelay.errors import DeadlineExceeded, LLMRelayError, RateLimited, UpstreamUnavailable
from llmrelay.events import Failure, Finish, TextDelta, Usage
from llmrelay.protocols.base import Heartbeat, StreamItem, StreamMeta
from llmrelay.protocols.native import encode_native
from llmrelay.sse import PING

META = StreamMeta(id="req-1", provider="echo", model="echo/echo", created=1_763_726_400)
META_JSON = {"id": "req-1", "provider": "echo", "model": "echo/echo", "created": 1_763_726_400}


def ticking(step: float = 0.01, start: float = 100.0) -> Iterator[float]:
    value = start
    while True:
        value += step
        yield value


async def items_of(*items: StreamItem) -> AsyncIterator[StreamItem]:
    for item in items:
        yield item


async def encode(*items: StreamItem) -> list[bytes]:
    clock = ticking()  # every reading is 10 ms after the one before, from 100.0
    frames = encode_native(META, items_of(*items), started=100.0, clock=lambda: next(clock))
    return [frame async for frame in frames]


async def test_a_stream_is_meta_then_deltas_then_done() -> None:
    finish = Finish("stop", Usage(input_tokens=3, output_tokens=2))
    events = read_json_events(await encode(TextDelta("Hello"), TextDelta(" world"), finish))
    assert events == [
        ("meta", META_JSON),
        ("delta", {"text": "Hello"}),
        ("delta", {"text": " world"}),
        (
            "done",
            {
                "finish_reason": "stop",
                "usage": {"input_tokens": 3, "output_tokens": 2},
                "timings": {"ttft_ms": 10, "total_ms": 20},
                "model": "echo/echo",
            },
        ),
    ]


async def test_a_failure_after_text_is_an_error_event_with_the_usage_so_far() -> None:
    failure = Failure(UpstreamUnavailable("upstream went away"), Usage(output_tokens=1))
    events = read_json_events(await encode(TextDelta("Hel"), failure))
    assert [name for name, _ in events] == ["meta", "delta", "error"]
    assert events[-1][1] == {
        "code": "upstream_unavailable",
        "message": "upstream went away",
        "retryable": True,
        "usage": {"input_tokens": 0, "output_tokens": 1},
    }


ERRORS = [
    pytest.param(RateLimited("slow down", retry_after=2.5), {"retry_after": 2.5}, id="retry-after"),
    pytest.param(RateLimited("slow down", retry_after=float("inf")), {}, id="infinite-dropped"),
    pytest.param(DeadlineExceeded("time is up"), {}, id="deadline"),
]


@pytest.mark.parametrize(("error", "extra"), ERRORS)
async def test_an_error_event_carries_code_message_retryable_and_retry_after(
    error: LLMRelayError, extra: dict[str, Any]
) -> None:
    [(_, _), (name, data)] = read_json_events(await encode(Failure(error)))
    assert name == "error"
    assert data == {
        "code": error.code,
        "message": error.message,
        "retryable": error.retryable,
        **extra,
        "usage": {"input_tokens": 0, "output_tokens": 0},
    }


async def test_heartbeats_become_ping_comments_between_whole_events() -> None:
    frames = await encode(Heartbeat(), TextDelta("a"), Heartbeat(), Finish())
    assert frames[1] == PING
    assert frames[3] == PING
    assert [e.event for e in read_sse(b"".join(frames))] == ["meta", "delta", "done"]


async def test_empty_deltas_are_dropped_and_ttft_is_null_without_text() -> None:
    events = read_json_events(await encode(TextDelta(""), Finish()))
    assert [name for name, _ in events] == ["meta", "done"]
    assert events[-1][1]["timings"] == {"ttft_ms": None, "total_ms": 10}


async def test_text_with_newlines_and_unicode_survives_as_one_data_line_each() -> None:
    text = "line one\nline two\r\n\u2028caf\u00e9 \U0001f600"
    frames = await encode(TextDelta(text), Finish())
    assert frames[1].count(b"data:") == 1
    assert read_json_events(frames)[1] == ("delta", {"text": text})


async def test_nothing_after_the_terminal_event_is_encoded() -> None:
    events = read_json_events(await encode(TextDelta("a"), Finish(), TextDelta("late"), Finish()))
    assert [name for name, _ in events] == ["meta", "delta", "done"]


async def test_a_stream_without_a_terminal_item_still_ends_with_one_error() -> None:
    events = read_json_events(await encode(TextDelta("a")))
    assert [name for name, _ in events] == ["meta", "delta", "error"]
    assert events[-1][1]["code"] == "internal_error"


SCRIPTS = [
    pytest.param((Finish(),), id="empty-answer"),
    pytest.param((TextDelta("a"), Finish()), id="answer"),
    pytest.param((Failure(RateLimited("x")),), id="error-first"),
    pytest.param((TextDelta("a"), Heartbeat(), Failure(UpstreamUnavailable("x"))), id="error-late"),
    pytest.param((TextDelta("a"), Heartbeat()), id="no-terminal"),
    pytest.param((Finish(), Failure(RateLimited("x"))), id="two-terminals"),
]


@pytest.mark.parametrize("items", SCRIPTS)
async def test_every_stream_has_meta_first_and_exactly_one_terminal_event_last(
    items: tuple[StreamItem, ...],
) -> None:
    names = [event.event for event in read_sse(b"".join(await encode(*items)))]
    assert names[0] == "meta"
    assert names[-1] in {"done", "error"}
    assert sum(name in {"done", "error"} for name in names) == 1
