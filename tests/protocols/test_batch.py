from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from llmrelay.errors import LLMRelayError, RateLimited, UpstreamTimeout
from llmrelay.events import Failure, Finish, TextDelta, Usage
from llmrelay.protocols.base import Heartbeat, StreamItem, StreamMeta
from llmrelay.protocols.batch import collect, encode_answer, encode_error

META = StreamMeta(id="req-1", provider="echo", model="echo/echo", created=0)


async def items_of(*items: StreamItem) -> AsyncIterator[StreamItem]:
    for item in items:
        yield item


async def test_collect_joins_the_text_and_keeps_the_finish() -> None:
    finish = Finish("length", Usage(4, 2))
    answer = await collect(items_of(TextDelta("Hel"), Heartbeat(), TextDelta("lo"), finish))
    assert (answer.text, answer.outcome) == ("Hello", finish)


async def test_collect_keeps_a_failure_and_the_text_before_it() -> None:
    failure = Failure(UpstreamTimeout("quiet"), Usage(output_tokens=1))
    answer = await collect(items_of(TextDelta("Hel"), failure))
    assert (answer.text, answer.outcome) == ("Hel", failure)


async def test_collect_stops_at_the_terminal_item() -> None:
    answer = await collect(items_of(TextDelta("a"), Finish(), TextDelta("late")))
    assert answer.text == "a"


async def test_collect_turns_a_missing_terminal_item_into_an_internal_error() -> None:
    answer = await collect(items_of(TextDelta("a")))
    assert isinstance(answer.outcome, Failure)
    assert answer.outcome.error.code == "internal_error"


def test_the_answer_document_has_id_model_text_finish_reason_and_usage() -> None:
    document = json.loads(encode_answer(META, "caf\u00e9\n", Finish("stop", Usage(3, 2))))
    assert document == {
        "id": "req-1",
        "model": "echo/echo",
        "text": "caf\u00e9\n",
        "finish_reason": "stop",
        "usage": {"input_tokens": 3, "output_tokens": 2},
    }


ERRORS = [
    pytest.param(LLMRelayError("boom"), {}, id="plain"),
    pytest.param(RateLimited("slow", retry_after=3), {"retry_after": 3}, id="retry-after"),
    pytest.param(RateLimited("slow", retry_after=float("nan")), {}, id="nan-retry-after-dropped"),
]


@pytest.mark.parametrize(("error", "extra"), ERRORS)
def test_the_error_document_is_code_message_retryable(
    error: LLMRelayError, extra: dict[str, object]
) -> None:
    document = json.loads(encode_error(error))
    assert document == {
        "error": {
            "code": error.code,
            "message": error.message,
            "retryable": error.retryable,
            **extra,
        }
    }
