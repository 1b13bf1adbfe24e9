from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from tests.protocols.sse_reader import read_sse

from llmrelay.errors import (
    AuthenticationFailed,
    DeadlineExceeded,
    InvalidRequest,
    LLMRelayError,
    MissingKey,
    RateLimited,
    UnknownModel,
    UpstreamUnavailable,
)
from llmrelay.events import Failure, Finish, FinishReason, TextDelta, Usage
from llmrelay.protocols.base import Heartbeat, StreamItem, StreamMeta
from llmrelay.protocols.openai import (
    DONE,
    Completion,
    completion,
    encode_chunks,
    encode_completion,
    encode_error,
    error_object,
)
from llmrelay.sse import PING

META = StreamMeta(id="req-1", provider="echo", model="echo/echo", created=1_763_726_400)
INFO = Completion(META)
WITH_USAGE = Completion(META, include_usage=True)


async def items_of(*items: StreamItem) -> AsyncIterator[StreamItem]:
    for item in items:
        yield item


async def encode(info: Completion, *items: StreamItem) -> list[bytes]:
    return [frame async for frame in encode_chunks(info, items_of(*items))]


def data_of(frames: list[bytes]) -> list[str]:
    return [event.data for event in read_sse(b"".join(frames))]


def objects_of(frames: list[bytes]) -> list[dict[str, Any]]:
    """Every event's JSON, ``[DONE]`` (always last) left out."""
    data = data_of(frames)
    assert data[-1] == "[DONE]"
    return [json.loads(item) for item in data[:-1]]


async def test_a_stream_is_a_role_chunk_content_chunks_a_finish_chunk_then_done() -> None:
    frames = await encode(INFO, TextDelta("Hel"), TextDelta("lo"), Finish("stop", Usage(3, 2)))
    chunks = [ChatCompletionChunk.model_validate(obj) for obj in objects_of(frames)]
    assert [chunk.choices[0].delta.role for chunk in chunks] == ["assistant", None, None, None]
    assert [chunk.choices[0].delta.content for chunk in chunks] == ["", "Hel", "lo", None]
    assert [chunk.choices[0].finish_reason for chunk in chunks] == [None, None, None, "stop"]
    assert {(c.id, c.object, c.created, c.model) for c in chunks} == {
        ("chatcmpl-req-1", "chat.completion.chunk", 1_763_726_400, "echo/echo")
    }
    assert all(chunk.usage is None for chunk in chunks)
    assert frames[-1] == DONE == b"data: [DONE]\n\n"


async def test_without_include_usage_chunks_carry_no_usage_field() -> None:
    for obj in objects_of(await encode(INFO, TextDelta("a"), Finish())):
        assert "usage" not in obj


async def test_include_usage_adds_a_last_chunk_with_empty_choices_and_the_usage() -> None:
    frames = await encode(WITH_USAGE, TextDelta("a"), Finish("stop", Usage(7, 1)))
    objects = objects_of(frames)
    assert all(obj["usage"] is None for obj in objects[:-1])
    last = ChatCompletionChunk.model_validate(objects[-1])
    assert last.choices == []
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (7, 1)
    assert last.usage.total_tokens == 8


REASONS: list[tuple[FinishReason, str]] = [
    ("stop", "stop"),
    ("length", "length"),
    ("content_filter", "content_filter"),
    ("tool_calls", "tool_calls"),
    ("other", "stop"),
]


@pytest.mark.parametrize(("reason", "expected"), REASONS, ids=[r for r, _ in REASONS])
async def test_finish_reasons_map_onto_openais(reason: FinishReason, expected: str) -> None:
    objects = objects_of(await encode(INFO, Finish(reason)))
    assert objects[-1]["choices"][0]["finish_reason"] == expected
    body = completion(INFO, "", Finish(reason))
    assert ChatCompletion.model_validate(body).choices[0].finish_reason == expected


async def test_a_failure_after_text_is_an_in_band_error_then_done() -> None:
    failure = Failure(UpstreamUnavailable("upstream went away"), Usage(output_tokens=1))
    objects = objects_of(await encode(WITH_USAGE, TextDelta("Hel"), failure))
    assert objects[-1] == {
        "error": {
            "message": "upstream went away",
            "type": "server_error",
            "code": "upstream_unavailable",
            "param": None,
        }
    }
    assert all("choices" in obj for obj in objects[:-1])  # no finish, no usage chunk


async def test_heartbeats_are_ping_comments_that_clients_skip() -> None:
    frames = await encode(INFO, Heartbeat(), TextDelta("a"), Heartbeat(), Finish())
    assert frames[1] == PING
    assert frames[3] == PING
    assert len(objects_of(frames)) == 3


async def test_empty_deltas_are_dropped() -> None:
    objects = objects_of(await encode(INFO, TextDelta(""), TextDelta("a"), Finish()))
    assert [obj["choices"][0]["delta"] for obj in objects] == [
        {"role": "assistant", "content": ""},
        {"content": "a"},
        {},
    ]


async def test_text_with_newlines_and_unicode_survives() -> None:
    text = "line one\nline two\r\n\u2028caf\u00e9 \U0001f600"
    objects = objects_of(await encode(INFO, TextDelta(text), Finish()))
    assert objects[1]["choices"][0]["delta"]["content"] == text


async def test_nothing_after_the_terminal_item_is_encoded() -> None:
    frames = await encode(INFO, TextDelta("a"), Finish(), TextDelta("late"))
    assert data_of(frames).count("[DONE]") == 1
    assert len(objects_of(frames)) == 3


async def test_a_stream_without_a_terminal_item_ends_with_an_error_then_done() -> None:
    objects = objects_of(await encode(INFO, TextDelta("a")))
    assert objects[-1]["error"]["code"] == "internal_error"


SCRIPTS = [
    pytest.param((Finish(),), id="empty-answer"),
    pytest.param((TextDelta("a"), Finish()), id="answer"),
    pytest.param((TextDelta("a"), Heartbeat(), Failure(RateLimited("x"))), id="error-late"),
    pytest.param((TextDelta("a"), Heartbeat()), id="no-terminal"),
    pytest.param((Finish(), Failure(RateLimited("x"))), id="two-terminals"),
]


@pytest.mark.parametrize("items", SCRIPTS)
@pytest.mark.parametrize("info", [INFO, WITH_USAGE], ids=["plain", "include-usage"])
async def test_every_stream_ends_with_exactly_one_done(
    info: Completion, items: tuple[StreamItem, ...]
) -> None:
    data = data_of(await encode(info, *items))
    assert data[-1] == "[DONE]"
    assert data.count("[DONE]") == 1


def test_a_batch_answer_is_one_chat_completion() -> None:
    body = json.loads(encode_completion(INFO, "Hello", Finish("length", Usage(4, 2))))
    parsed = ChatCompletion.model_validate(body)
    assert (parsed.id, parsed.object, parsed.model) == (
        "chatcmpl-req-1",
        "chat.completion",
        "echo/echo",
    )
    assert parsed.choices[0].message.role == "assistant"
    assert parsed.choices[0].message.content == "Hello"
    assert parsed.choices[0].finish_reason == "length"
    assert parsed.usage is not None
    assert parsed.usage.model_dump(
        include={"prompt_tokens", "completion_tokens", "total_tokens"}
    ) == {
        "prompt_tokens": 4,
        "completion_tokens": 2,
        "total_tokens": 6,
    }


ERRORS = [
    pytest.param(InvalidRequest("bad"), "invalid_request_error", None, id="invalid-request"),
    pytest.param(UnknownModel("no such"), "invalid_request_error", "model", id="unknown-model"),
    pytest.param(RateLimited("slow"), "rate_limit_error", None, id="rate-limited"),
    pytest.param(MissingKey("no key"), "server_error", None, id="missing-key"),
    pytest.param(AuthenticationFailed("401"), "server_error", None, id="upstream-auth"),
    pytest.param(DeadlineExceeded("late"), "server_error", None, id="deadline"),
    pytest.param(LLMRelayError("boom"), "server_error", None, id="internal"),
]


@pytest.mark.parametrize(("error", "kind", "param"), ERRORS)
def test_errors_take_openais_shape_with_llmrelays_code(
    error: LLMRelayError, kind: str, param: str | None
) -> None:
    assert error_object(error) == {
        "error": {"message": error.message, "type": kind, "code": error.code, "param": param}
    }
    assert json.loads(encode_error(error)) == error_object(error)


async def test_a_fallback_named_by_the_finish_is_the_model_of_the_last_chunks() -> None:
    finish = Finish("stop", Usage(1, 1), model="anthropic/claude-haiku-4-5")
    objects = objects_of(await encode(WITH_USAGE, TextDelta("a"), finish))
    assert [obj["model"] for obj in objects] == [
        "echo/echo",
        "echo/echo",
        "anthropic/claude-haiku-4-5",
        "anthropic/claude-haiku-4-5",
    ]
    assert completion(INFO, "a", finish)["model"] == "anthropic/claude-haiku-4-5"
