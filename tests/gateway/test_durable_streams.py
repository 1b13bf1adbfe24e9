"""Durable native streams through the app: ids, replay, resume after a dropped connection
(byte-exact, then the live tail), stop, isolation, and the routes when durability is off."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.gateway.app_client import call, read_body
from tests.gateway.durable_app import DurableApp, durable_app
from tests.gateway.fakes import Pause, Script
from tests.protocols.sse_reader import read_sse

from llmrelay.events import Finish, TextDelta, Usage
from llmrelay.gateway import build_app
from llmrelay.sse import PING

HELLO = {"messages": [{"role": "user", "content": "hello durable streaming world"}]}
WORDS = ["one ", "two ", "three ", "four ", "five ", "six"]


def slow_words(pause_s: float = 0.03, words: list[str] = WORDS) -> Script:
    steps: list[Any] = []
    for word in words:
        steps += [TextDelta(word), Pause(pause_s)]
    return Script((*steps, Finish("stop", Usage(3, len(words)))))


def frames_of(body: bytes) -> list[bytes]:
    """The body's event frames (pings left out), each with its blank line."""
    parts = [part + b"\n\n" for part in body.split(b"\n\n") if part]
    return [part for part in parts if part != PING]


async def test_a_durable_stream_numbers_its_events_and_names_itself() -> None:
    relay = durable_app()
    response, body = await relay.call("POST", "/chat", HELLO)
    stream_id = response.headers["x-llmrelay-stream-id"]
    events = read_sse(body)
    assert [event.id for event in events] == [str(n) for n in range(len(events))]
    assert events[0].event == "meta"
    assert json.loads(events[0].data)["stream_id"] == stream_id
    assert events[-1].event == "done"


async def test_an_ended_stream_replays_byte_exact_from_the_start_and_after_any_id() -> None:
    relay = durable_app()
    response, body = await relay.call("POST", "/chat", HELLO)
    stream_id = response.headers["x-llmrelay-stream-id"]
    replayed, again = await relay.call("GET", f"/chat/{stream_id}")
    assert replayed.status == 200
    assert replayed.headers["content-type"].startswith("text/event-stream")
    assert again == body
    frames = frames_of(body)
    for after in range(len(frames) - 1):
        _, tail = await relay.call(
            "GET", f"/chat/{stream_id}", headers={"last-event-id": str(after)}
        )
        assert tail == b"".join(frames[after + 1 :])
    _, by_query = await relay.call("GET", f"/chat/{stream_id}", query="last_event_id=1")
    assert by_query == b"".join(frames[2:])


async def test_a_resume_after_the_last_event_is_204_so_event_source_stops() -> None:
    relay = durable_app()
    response, body = await relay.call("POST", "/chat", HELLO)
    last = read_sse(body)[-1].id
    stream_id = response.headers["x-llmrelay-stream-id"]
    resumed, rest = await relay.call("GET", f"/chat/{stream_id}", headers={"last-event-id": last})
    assert (resumed.status, rest) == (204, b"")


async def test_a_dropped_connection_is_resumed_byte_exact_then_live() -> None:
    script = slow_words(0.05)
    relay = durable_app(lambda chat: script.stream())
    response = await relay.open("POST", "/chat", HELLO)
    stream_id = response.headers["x-llmrelay-stream-id"]
    body = response.body
    assert isinstance(body, AsyncIterator)
    got: list[bytes] = []
    while sum(frame.count(b"event: delta") for frame in got) < 3:
        got.append(await anext(body))
    # The client goes away: closing the body keeps generating into the store.
    dropped = asyncio.create_task(body.aclose())  # type: ignore[attr-defined]
    await asyncio.sleep(0)
    last_id = read_sse(b"".join(got))[-1].id
    resumed, rest = await relay.call(
        "GET", f"/chat/{stream_id}", headers={"last-event-id": last_id}
    )
    assert resumed.status == 200
    await dropped
    assert script.closed
    assert script.read == len(script.steps)
    _, whole = await relay.call("GET", f"/chat/{stream_id}")
    assert b"".join(got) + rest == whole
    assert "".join(json.loads(e.data)["text"] for e in read_sse(whole) if e.event == "delta") == (
        "".join(WORDS)
    )
    assert read_sse(whole)[-1].event == "done"


async def test_a_resume_while_generating_follows_the_live_stream_to_its_end() -> None:
    script = slow_words(0.04)
    relay = durable_app(lambda chat: script.stream())
    live = asyncio.create_task(relay.call("POST", "/chat", HELLO))
    while not relay.store.heads:  # type: ignore[attr-defined]
        await asyncio.sleep(0.01)
    (stream_id,) = relay.store.heads  # type: ignore[attr-defined]
    _resumed, followed = await relay.call("GET", f"/chat/{stream_id}")
    _, body = await live
    assert followed == body.replace(PING, b"")


async def test_stop_ends_the_stream_with_stopped_and_closes_the_upstream() -> None:
    script = slow_words(0.3, WORDS * 4)
    relay = durable_app(lambda chat: script.stream())
    response = await relay.open("POST", "/chat", HELLO)
    stream_id = response.headers["x-llmrelay-stream-id"]
    reading = asyncio.create_task(read_body(response))
    await asyncio.sleep(0.1)
    stopped, answer = await relay.call("POST", f"/chat/{stream_id}/stop")
    asked = time.monotonic()
    assert (stopped.status, json.loads(answer)) == (
        202,
        {"stream_id": stream_id, "status": "stopping"},
    )
    body = await reading
    assert time.monotonic() - asked < 1.0
    assert script.closed
    assert script.read < len(script.steps)
    done = read_sse(body)[-1]
    assert done.event == "done"
    assert json.loads(done.data)["finish_reason"] == "stopped"
    assert json.loads(done.data)["usage"]["output_tokens"] >= 1
    _, replayed = await relay.call("GET", f"/chat/{stream_id}")
    assert replayed == body.replace(PING, b"")
    again, status = await relay.call("POST", f"/chat/{stream_id}/stop")
    assert (again.status, json.loads(status)["status"]) == (200, "stopped")


async def test_streams_belong_to_their_caller() -> None:
    relay = durable_app()
    response, _ = await relay.call("POST", "/chat", HELLO, caller="key:alice")
    stream_id = response.headers["x-llmrelay-stream-id"]
    for method, path in [("GET", f"/chat/{stream_id}"), ("POST", f"/chat/{stream_id}/stop")]:
        other, body = await relay.call(method, path, caller="key:mallory")
        assert (other.status, json.loads(body)["error"]["code"]) == (404, "not_found")
    unknown, _ = await relay.call("GET", "/chat/no-such-stream")
    assert unknown.status == 404
    odd, _ = await relay.call("GET", "/chat/%2E%2E%2Fetc")
    assert odd.status == 404


@pytest.mark.parametrize("value", ["x", "-1", "1.5", "99999999999"])
async def test_a_bad_last_event_id_is_a_400_naming_it(value: str) -> None:
    relay = durable_app()
    response, _ = await relay.call("POST", "/chat", HELLO)
    stream_id = response.headers["x-llmrelay-stream-id"]
    bad, body = await relay.call("GET", f"/chat/{stream_id}", headers={"last-event-id": value})
    error = json.loads(body)["error"]
    assert (bad.status, error["code"]) == (400, "invalid_request")
    assert error["message"].startswith("last-event-id:")


async def test_batch_answers_and_other_dialects_are_not_durable() -> None:
    relay = durable_app()
    response, body = await relay.call("POST", "/chat", {**HELLO, "stream": False})
    assert "x-llmrelay-stream-id" not in response.headers
    assert json.loads(body)["text"] == "hello durable streaming world"
    openai, _ = await relay.call(
        "POST", "/v1/chat/completions", {**HELLO, "model": "echo/echo", "stream": True}
    )
    assert "x-llmrelay-stream-id" not in openai.headers
    assert relay.store.heads == {}  # type: ignore[attr-defined]


async def test_with_durability_off_streams_have_no_ids_and_the_routes_say_so() -> None:
    app = build_app(durability=False)
    response, body = await call(app, "POST", "/chat", HELLO)
    assert "x-llmrelay-stream-id" not in response.headers
    assert all(event.id in ("", None) for event in read_sse(body))
    for method, path in [
        ("GET", "/chat/abc"),
        ("POST", "/chat/abc/stop"),
        ("GET", "/threads/t"),
        ("DELETE", "/threads/t"),
    ]:
        off, raw = await call(app, method, path)
        assert off.status == 404
        assert "LLMRELAY_DURABLE_TABLE" in json.loads(raw)["error"]["message"]


def test_durable_app_helper_keeps_its_store() -> None:
    relay: DurableApp = durable_app()
    assert relay.store is not None
