"""A slow or failing store never slows or breaks the live stream; a resume then says
plainly that the stream is incomplete, and nothing hangs. Also DynamoDB end to end (moto)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from tests.durable.conftest import TABLE
from tests.gateway.app_client import read_body
from tests.gateway.durable_app import FAST_WRITER, durable_app
from tests.gateway.fakes import Context, Pause, Script
from tests.helpers.silent import silent_endpoint
from tests.protocols.sse_reader import read_sse

from llmrelay.durable import DynamoStore, MemoryStore
from llmrelay.durable.writer import WriterPolicy
from llmrelay.events import Finish, TextDelta, Usage

HELLO = {"messages": [{"role": "user", "content": "hello durable streaming world"}]}


def words(n: int, pause_s: float) -> Script:
    steps: list[Any] = []
    for index in range(n):
        steps += [TextDelta(f"w{index} "), Pause(pause_s)]
    return Script((*steps, Finish("stop", Usage(1, n))))


def text_of(body: bytes) -> str:
    return "".join(json.loads(e.data)["text"] for e in read_sse(body) if e.event == "delta")


class FlakyStore(MemoryStore):
    """Fails every call while ``fail`` is set, after ``ok_calls`` calls have passed."""

    def __init__(self, ok_calls: int = 0) -> None:
        super().__init__()
        self.ok_calls = ok_calls

    async def _enter(self) -> None:
        if self.ok_calls > 0:
            self.ok_calls -= 1
            self.calls += 1
            await asyncio.sleep(0)
            return
        await super()._enter()


async def test_a_store_down_from_the_start_leaves_the_live_stream_whole(
    capfd: pytest.CaptureFixture[str],
) -> None:
    store = MemoryStore()
    store.fail = True
    relay = durable_app(lambda chat: words(8, 0.01).stream(), store)
    response, body = await relay.call("POST", "/chat", HELLO)
    assert response.status == 200
    assert text_of(body) == "".join(f"w{i} " for i in range(8))
    assert read_sse(body)[-1].event == "done"
    assert "durable stream: " in capfd.readouterr().err
    resumed, raw = await relay.call("GET", f"/chat/{response.headers['x-llmrelay-stream-id']}")
    assert (resumed.status, json.loads(raw)["error"]["code"]) == (503, "store_unavailable")


async def test_a_store_lost_mid_stream_makes_a_resume_say_incomplete() -> None:
    store = FlakyStore(ok_calls=3)  # the head and a couple of batches, then nothing
    store.fail = True
    policy = WriterPolicy(flush_s=0.02, stop_poll_s=10, max_failures=2, close_timeout_s=1)
    relay = durable_app(lambda chat: words(20, 0.02).stream(), store, writer=policy)
    response = await relay.open("POST", "/chat", HELLO)
    reading = asyncio.create_task(read_body(response))
    await asyncio.sleep(0.3)
    store.fail = False  # back, but the writer has given the stream up; it says so at the end
    body = await reading
    assert text_of(body) == "".join(f"w{i} " for i in range(20))  # the live client: all of it
    began = time.monotonic()
    _, resumed = await relay.call("GET", f"/chat/{response.headers['x-llmrelay-stream-id']}")
    assert time.monotonic() - began < 1
    events = read_sse(resumed)
    assert body.startswith(resumed.rsplit(b"event: error", 1)[0])  # what was saved, exact
    assert events[-1].event == "error"
    assert json.loads(events[-1].data)["code"] == "stream_incomplete"


async def test_a_stream_whose_end_was_never_saved_is_incomplete_after_its_deadline() -> None:
    store = FlakyStore(ok_calls=2)
    store.fail = True
    relay = durable_app(lambda chat: words(3, 0.01).stream(), store)
    response, _ = await relay.call("POST", "/chat", HELLO, context=Context(remaining_ms=400))
    store.fail = False
    began = time.monotonic()
    _, resumed = await relay.call("GET", f"/chat/{response.headers['x-llmrelay-stream-id']}")
    waited = time.monotonic() - began
    assert json.loads(read_sse(resumed)[-1].data)["code"] == "stream_incomplete"
    assert waited < 3  # the generation's deadline plus the grace, never a hang


async def test_a_resume_ends_with_a_retryable_error_at_its_own_deadline() -> None:
    relay = durable_app(lambda chat: words(100, 0.05).stream())
    response = await relay.open("POST", "/chat", HELLO)
    live = asyncio.create_task(read_body(response))
    stream_id = response.headers["x-llmrelay-stream-id"]
    await asyncio.sleep(0.1)  # the head is written as the first frames go out
    began = time.monotonic()
    _, resumed = await relay.call("GET", f"/chat/{stream_id}", context=Context(remaining_ms=800))
    assert time.monotonic() - began < 1.5
    last = json.loads(read_sse(resumed)[-1].data)
    assert (last["code"], last["retryable"]) == ("deadline_exceeded", True)
    await relay.call("POST", f"/chat/{stream_id}/stop")
    await live


async def test_a_stop_for_an_ended_stream_says_how_it_ended() -> None:
    relay = durable_app()
    response, _ = await relay.call("POST", "/chat", HELLO)
    stopped, body = await relay.call(
        "POST", f"/chat/{response.headers['x-llmrelay-stream-id']}/stop"
    )
    assert (stopped.status, json.loads(body)["status"]) == (200, "done")


async def test_a_stop_while_the_store_is_down_is_a_503() -> None:
    store = MemoryStore()
    relay = durable_app(store=store)
    response, _ = await relay.call("POST", "/chat", HELLO)
    store.fail = True
    stopped, body = await relay.call(
        "POST", f"/chat/{response.headers['x-llmrelay-stream-id']}/stop"
    )
    assert (stopped.status, json.loads(body)["error"]["code"]) == (503, "store_unavailable")


@pytest.fixture
def silent_dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with silent_endpoint() as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", url)
        yield url


async def test_a_dynamodb_that_never_answers_costs_the_live_stream_nothing(
    silent_dynamodb: str,
) -> None:
    store = DynamoStore(TABLE, call_timeout_s=0.3)
    relay = durable_app(lambda chat: words(10, 0.02).stream(), store)
    began = time.monotonic()
    response, body = await relay.call("POST", "/chat", HELLO)
    elapsed = time.monotonic() - began
    assert text_of(body) == "".join(f"w{i} " for i in range(10))
    # At most: a quarter of a call's bound for the head, the answer, the bounded close.
    assert elapsed < 1.0 / 4 + 0.2 + FAST_WRITER.close_timeout_s + 1.0
    resumed, raw = await relay.call("GET", f"/chat/{response.headers['x-llmrelay-stream-id']}")
    assert (resumed.status, json.loads(raw)["error"]["code"]) == (503, "store_unavailable")


async def test_dynamodb_end_to_end_resume_stop_and_threads(dynamodb: Any) -> None:
    relay = durable_app(lambda chat: words(30, 0.03).stream(), DynamoStore(TABLE, client=dynamodb))
    response = await relay.open("POST", "/chat", {**HELLO, "thread_id": "t-9"})
    stream_id = response.headers["x-llmrelay-stream-id"]
    live = asyncio.create_task(read_body(response))
    await asyncio.sleep(0.2)
    follow = asyncio.create_task(relay.call("GET", f"/chat/{stream_id}"))
    await asyncio.sleep(0.1)
    stopped, _ = await relay.call("POST", f"/chat/{stream_id}/stop")
    assert stopped.status == 202
    body = await live
    _, followed = await follow
    assert followed == body.replace(b": ping\n\n", b"")
    assert json.loads(read_sse(body)[-1].data)["finish_reason"] == "stopped"
    _, replayed = await relay.call("GET", f"/chat/{stream_id}")
    assert replayed == followed
    _, listed = await relay.call("GET", "/threads/t-9")
    assert json.loads(listed)["turns"][0]["stopped"] is True


async def test_a_hung_store_never_holds_the_response_past_the_deadline(
    silent_dynamodb: str,
) -> None:
    store = DynamoStore(TABLE, call_timeout_s=30)  # a store that would hang for long
    policy = WriterPolicy(flush_s=0.02, stop_poll_s=10, close_timeout_s=30)
    relay = durable_app(lambda chat: words(3, 0.01).stream(), store, writer=policy)
    began = time.monotonic()
    response, body = await relay.call("POST", "/chat", HELLO, context=Context(remaining_ms=1500))
    assert time.monotonic() - began < 1.5
    assert read_sse(body)[-1].event == "done"
    assert response.status == 200


@pytest.fixture
def throttling_dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A DynamoDB endpoint that throttles every call, in DynamoDB's own JSON error shape."""
    from llmrelay.httpd import Request, ResponseWriter
    from llmrelay.server_thread import ServerThread

    seen: list[str] = []

    async def throttle(request: Request, response: ResponseWriter) -> None:
        await request.read_body()
        seen.append(request.headers.get("x-amz-target", ""))
        body = {
            "__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
            "message": "Rate of requests exceeds the allowed throughput.",
        }
        headers = [("Content-Type", "application/x-amz-json-1.0")]
        await response.send(400, json.dumps(body).encode(), headers)

    server = ServerThread(throttle).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", server.url)
    try:
        yield seen
    finally:
        server.stop()


async def test_a_throttled_table_leaves_the_live_stream_whole_and_a_resume_says_503(
    throttling_dynamodb: list[str],
) -> None:
    relay = durable_app(lambda chat: words(10, 0.02).stream(), DynamoStore(TABLE))
    response, body = await relay.call("POST", "/chat", HELLO)
    assert text_of(body) == "".join(f"w{i} " for i in range(10))
    assert read_sse(body)[-1].event == "done"
    assert "DynamoDB_20120810.PutItem" in throttling_dynamodb  # it was tried, and refused
    resumed, raw = await relay.call("GET", f"/chat/{response.headers['x-llmrelay-stream-id']}")
    assert (resumed.status, json.loads(raw)["error"]["code"]) == (503, "store_unavailable")
