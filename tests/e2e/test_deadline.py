"""The Lambda deadline through ``make dev``'s emulator: a function with a 2 s ``Timeout`` and
a slow ``echo``. An answer too long for the time left ends with the dialect's
``deadline_exceeded`` terminal event before the function is cut off (a complete chunked
body, then the worker is reused warm: it never timed out); an answer that fits in the
2 s ends cleanly."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from tests.e2e.emulator import Emulator, running_emulator
from tests.e2e.timed_stream import OPENAI_TEXT, TimedStream, post_timed
from tests.protocols.sse_reader import read_json_events, read_sse

pytestmark = pytest.mark.e2e

TIMEOUT_S = 2.0  # the function's Timeout: every request starts 2 s before its deadline
DELAY_MS = 100
MARGIN_S = 0.3  # LLMRELAY_DEADLINE_MARGIN_MS, the gateway's default
LONG = " ".join(f"word{n}" for n in range(40))  # 40 x 100 ms: twice the time there is
SHORT = "a request that starts two seconds before its deadline ends cleanly"  # 1 s


@pytest.fixture(scope="module")
def deadline_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    log = tmp_path_factory.mktemp("deadline-emulator") / "dev.log"
    env = {"LLMRELAY_ECHO_DELAY_MS": str(DELAY_MS), "LLMRELAY_DEV_TIMEOUT": str(TIMEOUT_S)}
    with running_emulator(log, env) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=TIMEOUT_S * 5) as client:
        yield client


def chat(text: str, **fields: object) -> dict[str, object]:
    return {"messages": [{"role": "user", "content": text}], **fields}


async def assert_worker_survived(
    http: httpx.AsyncClient, emulator: Emulator, stream: TimedStream
) -> None:
    """Once the function's time is over, the emulator has not timed the invocation out,
    and the same worker answers the next request warm."""
    await asyncio.sleep(max(0.0, TIMEOUT_S + 0.2 - stream.end_s))
    request_id = stream.headers["x-amzn-requestid"]
    log = emulator.log.read_text(encoding="utf-8", errors="replace")
    assert f"(request {request_id})" not in log, emulator.log_tail()
    after = await post_timed(http, f"{emulator.url}/chat", chat("again"))
    assert after.worker == f"pid={stream.pid}; warm", (stream.worker, after.worker)


def assert_ended_by_the_gateway(stream: TimedStream) -> None:
    """Ended before the function's timeout, and not long before the guard's cut-off."""
    assert stream.status == 200
    assert stream.body.endswith(b"\n\n"), stream.body[-80:]
    assert TIMEOUT_S - MARGIN_S - 0.4 < stream.end_s < TIMEOUT_S, stream.end_s


async def test_a_native_stream_ends_with_deadline_exceeded_before_the_timeout(
    http: httpx.AsyncClient, deadline_emulator: Emulator
) -> None:
    stream = await post_timed(http, f"{deadline_emulator.url}/chat", chat(LONG))
    assert_ended_by_the_gateway(stream)
    events = read_json_events(stream.body)
    names = [name for name, _ in events]
    assert names[0] == "meta"
    assert set(names[1:-1]) == {"delta"}
    name, error = events[-1]
    assert name == "error"
    assert (error["code"], error["retryable"]) == ("deadline_exceeded", True)
    text = "".join(data["text"] for name, data in events if name == "delta")
    assert LONG.startswith(text)
    assert 0 < len(text) < len(LONG)
    assert error["usage"]["output_tokens"] == names.count("delta")
    await assert_worker_survived(http, deadline_emulator, stream)


async def test_an_openai_stream_ends_with_a_deadline_error_then_done(
    http: httpx.AsyncClient, deadline_emulator: Emulator
) -> None:
    body = chat(LONG, model="echo/echo", stream=True)
    url = f"{deadline_emulator.url}/v1/chat/completions"
    stream = await post_timed(http, url, body, text_marker=OPENAI_TEXT)
    assert_ended_by_the_gateway(stream)
    datas = [event.data for event in read_sse(stream.body)]
    assert datas[-1] == "[DONE]"
    assert datas.count("[DONE]") == 1
    documents = [json.loads(data) for data in datas[:-1]]
    assert documents[-1]["error"]["code"] == "deadline_exceeded"
    assert all("error" not in document for document in documents[:-1])
    assert all(choice["finish_reason"] is None for d in documents[:-1] for choice in d["choices"])
    text = "".join(d["choices"][0]["delta"].get("content", "") for d in documents[:-1])
    assert LONG.startswith(text)
    assert 0 < len(text) < len(LONG)
    await assert_worker_survived(http, deadline_emulator, stream)


async def test_a_request_that_starts_two_seconds_before_its_deadline_ends_cleanly(
    http: httpx.AsyncClient, deadline_emulator: Emulator
) -> None:
    started = time.monotonic()
    stream = await post_timed(http, f"{deadline_emulator.url}/chat", chat(SHORT))
    assert stream.status == 200
    events = read_json_events(stream.body)
    assert [name for name, _ in events][-1] == "done"
    assert "".join(data["text"] for name, data in events if name == "delta") == SHORT
    assert events[-1][1]["finish_reason"] == "stop"
    assert time.monotonic() - started < TIMEOUT_S - MARGIN_S
