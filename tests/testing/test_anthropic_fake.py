"""The fake Anthropic API speaks the real wire format and refuses what the real one refuses."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import pytest

from llmrelay.testing import FakeAnthropic, FakeToolCall, Reply

KEY = "sk-ant-test"


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


def post(fake: FakeAnthropic, body: Any) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    headers = {"Content-Type": "application/json", "x-api-key": KEY}
    connection.request("POST", "/v1/messages", json.dumps(body), headers)
    return connection.getresponse()


def messages(*turns: dict[str, Any], stream: bool = True, **extra: Any) -> dict[str, Any]:
    turns = turns or ({"role": "user", "content": "Hi"},)
    return {
        "model": "claude-test",
        "max_tokens": 64,
        "messages": list(turns),
        "stream": stream,
        **extra,
    }


def events_of(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for frame in raw.decode().split("\n\n"):
        if frame:
            event, data = frame.split("\n")
            events.append((event.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return events


FULL = Reply(
    reasoning=("Thi", "nk"),
    redacted=("REDACTED==",),
    pieces=("Hé",),
    tool_calls=(FakeToolCall("toolu_1", "f", ('{"a": ', "1}")),),
    finish_reason="tool_calls",
    input_tokens=50,
    cached_tokens=30,
    cache_write_tokens=15,
    output_tokens=9,
    reasoning_tokens=4,
)


def test_every_block_has_its_own_index_and_a_ping_after_its_start(fake: FakeAnthropic) -> None:
    fake.queue(FULL)
    events = events_of(post(fake, messages()).read())
    names = [name for name, _ in events]
    assert names == [
        "message_start",
        *["content_block_start", "ping", "content_block_delta", "content_block_delta"],
        "content_block_delta",  # the signature, after the thinking
        "content_block_stop",
        *["content_block_start", "ping", "content_block_stop"],  # redacted: data in the start
        *["content_block_start", "ping", "content_block_delta", "content_block_stop"],
        *["content_block_start", "ping", "content_block_delta", "content_block_delta"],
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    starts = [data for name, data in events if name == "content_block_start"]
    assert [(s["index"], s["content_block"]["type"]) for s in starts] == [
        (0, "thinking"),
        (1, "redacted_thinking"),
        (2, "text"),
        (3, "tool_use"),
    ]
    assert starts[1]["content_block"]["data"] == "REDACTED=="
    deltas = [data["delta"] for name, data in events if name == "content_block_delta"]
    assert [d["type"] for d in deltas] == [
        "thinking_delta",
        "thinking_delta",
        "signature_delta",
        "text_delta",
        "input_json_delta",
        "input_json_delta",
    ]
    assert deltas[2]["signature"] in fake.issued.signatures


def test_usage_splits_cached_input_tokens_as_anthropic_does(fake: FakeAnthropic) -> None:
    fake.queue(FULL)
    events = dict(events_of(post(fake, messages()).read()))
    start = events["message_start"]["message"]["usage"]
    assert (start["input_tokens"], start["output_tokens"]) == (5, 1)
    assert events["message_delta"]["usage"] == {
        "input_tokens": 5,
        "cache_creation_input_tokens": 15,
        "cache_read_input_tokens": 30,
        "output_tokens": 9,
        "output_tokens_details": {"thinking_tokens": 4},
    }
    assert events["message_delta"]["delta"]["stop_reason"] == "tool_use"


def test_a_whole_answer_holds_every_block(fake: FakeAnthropic) -> None:
    fake.queue(FULL)
    answer = json.loads(post(fake, messages(stream=False)).read())
    assert [block["type"] for block in answer["content"]] == [
        "thinking",
        "redacted_thinking",
        "text",
        "tool_use",
    ]
    assert answer["content"][0]["thinking"] == "Think"
    assert answer["content"][3]["input"] == {"a": 1}


def test_handed_back_thinking_is_accepted_only_with_the_issued_signature(
    fake: FakeAnthropic,
) -> None:
    fake.queue(FULL)
    issued = json.loads(post(fake, messages(stream=False)).read())["content"]
    back = messages({"role": "user", "content": "Hi"}, {"role": "assistant", "content": issued})
    result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "2"}
    answer = post(
        fake, {**back, "messages": [*back["messages"], {"role": "user", "content": [result]}]}
    )
    assert answer.status == 200
    answer.read()
    altered = [{**issued[0], "thinking": "Think!"}, *issued[1:]]
    refused = post(
        fake, messages({"role": "user", "content": "Hi"}, {"role": "assistant", "content": altered})
    )
    assert refused.status == 400
    error = json.loads(refused.read())["error"]
    assert error == {
        "type": "invalid_request_error",
        "message": "messages.1.content.0: Invalid `signature` in `thinking` block",
    }


REFUSALS = {
    "unknown-redacted-data": (
        messages(
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": [{"type": "redacted_thinking", "data": "nope"}]},
        ),
        "Invalid `data` in `redacted_thinking` block",
    ),
    "result-without-its-call": (
        messages(
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "no tools here"},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x"}]},
        ),
        "unexpected `tool_use_id` found in `tool_result` blocks: toolu_x",
    ),
    "budget-under-1024": (
        messages(thinking={"type": "enabled", "budget_tokens": 100}),
        "greater than or equal to 1024",
    ),
    "budget-not-below-max-tokens": (
        messages(max_tokens=2048, thinking={"type": "enabled", "budget_tokens": 2048}),
        "`max_tokens` must be greater than `thinking.budget_tokens`",
    ),
}


@pytest.mark.parametrize(("body", "message"), REFUSALS.values(), ids=REFUSALS.keys())
def test_what_the_real_api_refuses_is_a_400(
    fake: FakeAnthropic, body: dict[str, Any], message: str
) -> None:
    answer = post(fake, body)
    assert answer.status == 400
    error = json.loads(answer.read())["error"]
    assert error["type"] == "invalid_request_error"
    assert message in error["message"]
    assert fake.requests[-1].body == body
