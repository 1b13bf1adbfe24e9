from __future__ import annotations

import dataclasses
import typing

import pytest

from llmrelay.errors import RateLimited
from llmrelay.events import (
    BlockEnd,
    BlockStart,
    Failure,
    Finish,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    Usage,
)


def test_usage_totals_input_and_output() -> None:
    assert Usage(input_tokens=12, output_tokens=30).total_tokens == 42


def test_a_finish_without_details_is_a_stop_with_zero_usage() -> None:
    finish = Finish()
    assert finish.reason == "stop"
    assert finish.usage == Usage(0, 0)


@pytest.mark.parametrize(
    ("event", "attribute", "value"),
    [
        pytest.param(TextDelta("hi"), "text", "bye", id="text-delta"),
        pytest.param(Finish(), "reason", "length", id="finish"),
        pytest.param(Usage(), "input_tokens", 3, id="usage"),
        pytest.param(Failure(RateLimited("slow")), "usage", Usage(1, 1), id="failure"),
    ],
)
def test_events_are_immutable(event: object, attribute: str, value: object) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(event, attribute, value)


def test_events_compare_by_value() -> None:
    assert TextDelta("a") == TextDelta("a")
    assert Finish("length", Usage(1, 2)) == Finish("length", Usage(1, 2))
    assert Finish("length", Usage(1, 2)) != Finish("stop", Usage(1, 2))


def test_a_failure_carries_the_error_and_the_usage_so_far() -> None:
    error = RateLimited("slow down", retry_after=1.0)
    failure = Failure(error, Usage(5, 2))
    assert failure.error is error
    assert failure.usage.total_tokens == 7


def test_the_stream_is_deltas_then_a_finish() -> None:
    assert set(typing.get_args(StreamEvent)) == {
        BlockStart,
        TextDelta,
        ReasoningDelta,
        ToolCallDelta,
        BlockEnd,
        Finish,
    }
