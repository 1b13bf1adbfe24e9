"""The real runtime loop against the fake Runtime API on loopback: what reaches Lambda for
each kind of handler and failure, in what order, and that the loop keeps serving."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from tests.runtime.fake_runtime_api import FakeRuntimeApi, RunLoop

from llmrelay.http import HttpRequest, HttpResponse, InvocationContext
from llmrelay.runtime import StreamingHandler, framing
from llmrelay.runtime.api import RuntimeApi, RuntimeApiError
from llmrelay.runtime.loop import _set_trace_id, serve

EVENT: dict[str, Any] = {
    "rawPath": "/chat",
    "headers": {"accept": "text/event-stream"},
    "requestContext": {"http": {"method": "POST"}, "requestId": "url-1"},
    "body": "hello",
}
SSE = {"content-type": "text/event-stream"}
SECRET = "sk-proj-ABCDEFGHIJKLMNOPQRSTUVWX"


async def _parts(*parts: object, fail: Exception | None = None) -> AsyncIterator[bytes]:
    for part in parts:
        await asyncio.sleep(0)
        yield part  # type: ignore[misc]  # some cases yield a wrong type on purpose
    if fail is not None:
        raise fail


def app_of(make: Callable[[], HttpResponse]) -> StreamingHandler:
    async def app(request: HttpRequest, context: InvocationContext) -> HttpResponse:
        return make()

    return StreamingHandler(app)


async def _raising_app(request: HttpRequest, context: InvocationContext) -> HttpResponse:
    raise ValueError(f"bad key {SECRET}")


def _sync_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return {"statusCode": 201, "headers": {"X-Mode": "sync"}, "body": event["body"]}


async def _async_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return {"statusCode": 200, "body": "async", "cookies": ["k=v"]}


def _failing_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    raise KeyError("missing")


@dataclass(frozen=True)
class Expect:
    kind: str  # what the fake received: "response" (streamed) or "error"
    body: bytes = b""
    prelude: dict[str, Any] = field(default_factory=dict)
    error_type: str | None = None
    error: dict[str, str] = field(default_factory=dict)  # subset of the error document


CASES = [
    pytest.param(
        app_of(lambda: HttpResponse(200, SSE, _parts(b"data: a\n\n", b"data: b\n\n"))),
        Expect(
            "response",
            b"data: a\n\ndata: b\n\n",
            {"statusCode": 200, "headers": SSE, "cookies": []},
        ),
        id="streamed-chunks",
    ),
    pytest.param(
        app_of(lambda: HttpResponse(404, {"content-type": "application/json"}, b"{}", ("a=1",))),
        Expect(
            "response",
            b"{}",
            {
                "statusCode": 404,
                "headers": {"content-type": "application/json"},
                "cookies": ["a=1"],
            },
        ),
        id="bytes-body-status-cookies",
    ),
    pytest.param(
        app_of(lambda: HttpResponse(204)),
        Expect("response", b"\n", {"statusCode": 204, "headers": {}, "cookies": []}),
        id="empty-body-sends-one-newline",
    ),
    pytest.param(
        app_of(lambda: HttpResponse(200, SSE, _parts(b"", b""))),
        Expect("response", b"\n", {"statusCode": 200, "headers": SSE, "cookies": []}),
        id="empty-chunks-send-one-newline",
    ),
    pytest.param(
        app_of(lambda: HttpResponse(200, SSE, _parts(b"data: a\n\n", fail=RuntimeError(SECRET)))),
        Expect(
            "response",
            b"data: a\n\n",
            {"statusCode": 200, "headers": SSE, "cookies": []},
            "Function.RuntimeError",
            {"errorType": "RuntimeError", "errorMessage": "[redacted]"},
        ),
        id="mid-stream-failure-trailers-redacted",
    ),
    pytest.param(
        app_of(lambda: HttpResponse(200, SSE, _parts(b"data: a\n\n", "text"))),
        Expect(
            "response",
            b"data: a\n\n",
            {"statusCode": 200, "headers": SSE, "cookies": []},
            "Function.TypeError",
            {"errorType": "TypeError"},
        ),
        id="mid-stream-non-bytes-trailers",
    ),
    pytest.param(
        StreamingHandler(_raising_app),
        Expect(
            "error",
            error_type="Function.ValueError",
            error={"errorType": "ValueError", "errorMessage": "bad key [redacted]"},
        ),
        id="app-raises-before-response",
    ),
    pytest.param(
        app_of(lambda: HttpResponse(200, SSE, _parts(b"", fail=OSError("upstream down")))),
        Expect(
            "error",
            error_type="Function.OSError",
            error={"errorType": "OSError", "errorMessage": "upstream down"},
        ),
        id="body-fails-before-first-byte",
    ),
    pytest.param(
        app_of(lambda: HttpResponse(200, {"x-object": object()}, b"x")),  # type: ignore[dict-item]
        Expect("error", error_type="Function.TypeError", error={"errorType": "TypeError"}),
        id="unserializable-header-before-first-byte",
    ),
    pytest.param(
        _sync_handler,
        Expect(
            "response",
            b"hello",
            {"statusCode": 201, "headers": {"x-mode": "sync"}, "cookies": []},
        ),
        id="plain-sync-handler",
    ),
    pytest.param(
        _async_handler,
        Expect("response", b"async", {"statusCode": 200, "headers": {}, "cookies": ["k=v"]}),
        id="plain-async-handler",
    ),
    pytest.param(
        _failing_handler,
        Expect("error", error_type="Function.KeyError", error={"errorType": "KeyError"}),
        id="plain-handler-raises",
    ),
]


@pytest.mark.parametrize(("handler", "expect"), CASES)
async def test_what_lambda_receives(
    fake: FakeRuntimeApi, run_loop: RunLoop, handler: object, expect: Expect
) -> None:
    request_id = fake.enqueue(EVENT)
    await run_loop(handler)
    exchange = fake.exchanges[request_id]
    assert exchange.kind == expect.kind
    assert exchange.error_type == expect.error_type
    if expect.kind == "response":
        assert exchange.prelude == expect.prelude
        assert exchange.body == expect.body
        assert exchange.raw.startswith(json.dumps(expect.prelude, separators=(",", ":")).encode())
    if expect.error_type is not None:
        assert exchange.error is not None
        assert expect.error.items() <= exchange.error.items()
        assert SECRET not in json.dumps(exchange.error)
        assert all(" in " in frame for frame in exchange.error["stackTrace"])


async def test_failures_are_logged_as_one_json_line(
    fake: FakeRuntimeApi, run_loop: RunLoop, capsys: pytest.CaptureFixture[str]
) -> None:
    request_id = fake.enqueue(EVENT)
    await run_loop(StreamingHandler(_raising_app))
    [line] = capsys.readouterr().err.splitlines()
    record = json.loads(line)
    assert record["level"] == "ERROR"
    assert record["requestId"] == request_id
    assert record["errorType"] == "ValueError"
    assert SECRET not in line


async def test_chunks_reach_lambda_as_the_app_produces_them(
    fake: FakeRuntimeApi, run_loop: RunLoop
) -> None:
    """Each chunk must arrive before the app produces the next one: the app waits for the
    fake to have received a chunk, so a runtime that buffered would never finish."""
    parts = [b"data: one\n\n", b"data: two\n\n", b"data: three\n\n"]
    produced: list[float] = []

    async def body() -> AsyncIterator[bytes]:
        for part in parts:
            produced.append(time.monotonic())
            yield part
            await asyncio.wait_for(fake.received(request_id, part), 2)

    request_id = fake.enqueue(EVENT)
    await run_loop(app_of(lambda: HttpResponse(200, SSE, body())))
    exchange = fake.exchanges[request_id]
    arrivals = [at for at, data in exchange.chunks if any(p in data for p in parts)]
    assert len(arrivals) == len(parts)
    for arrived, next_produced in zip(arrivals, produced[1:], strict=False):
        assert arrived <= next_produced
    assert exchange.body == b"".join(parts)


async def test_the_loop_comes_back_for_the_next_invocation(
    fake: FakeRuntimeApi, run_loop: RunLoop
) -> None:
    events = [
        {**EVENT, "body": "0"},
        {"no": "body"},
        {**EVENT, "body": "1"},
        {**EVENT, "body": "2"},
    ]
    ids = [fake.enqueue(event) for event in events]  # the second one fails
    await run_loop(_sync_handler, invocations=4)
    assert [fake.exchanges[i].kind for i in ids] == ["response", "error", "response", "response"]
    assert [fake.exchanges[i].body for i in ids if i != ids[1]] == [b"0", b"1", b"2"]
    nexts = [conn for method, _, conn in fake.requests if method == "GET"]
    assert len(nexts) == 4
    # A streamed response closes its connection (AWS asks it); /error keeps it alive.
    responses = [fake.exchanges[i].connection for i in ids if i != ids[1]]
    assert len(set(responses)) == 3
    assert fake.exchanges[ids[1]].connection == nexts[1]


async def test_the_loop_serves_until_stopped(fake: FakeRuntimeApi) -> None:
    task = asyncio.create_task(serve(RuntimeApi(fake.address), _sync_handler))
    first = fake.enqueue(EVENT)
    assert (await asyncio.wait_for(fake.outcome(first), 5)).body == b"hello"
    second = fake.enqueue({**EVENT, "body": "again"})
    assert (await asyncio.wait_for(fake.outcome(second), 5)).body == b"again"
    task.cancel()
    await asyncio.wait([task])
    assert task.cancelled()


async def test_context_and_trace_id_per_invocation(fake: FakeRuntimeApi, run_loop: RunLoop) -> None:
    seen: list[tuple[str, str, int, str, str | None]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        remaining = context.get_remaining_time_in_millis()
        trace = os.environ.get("_X_AMZN_TRACE_ID")
        seen.append((context.aws_request_id, context.invoked_function_arn, remaining,
                     context.function_name, trace))  # fmt: skip
        return {"statusCode": 200, "body": "ok"}

    first = fake.enqueue(EVENT, trace_id="Root=1-abc;Sampled=1", ttl_ms=30_000)
    second = fake.enqueue(EVENT)
    await run_loop(handler, invocations=2)
    [(rid1, arn, remaining, name, trace1), (rid2, _, _, _, trace2)] = seen
    assert (rid1, rid2) == (first, second)
    assert arn == "arn:aws:lambda:eu-west-1:123456789012:function:chat"
    assert 25_000 < remaining <= 30_000
    assert name == "chat"
    assert (trace1, trace2) == ("Root=1-abc;Sampled=1", None)


@pytest.mark.parametrize("status", [400, 403, 413])
async def test_a_rejected_response_is_logged_and_the_loop_goes_on(
    fake: FakeRuntimeApi, run_loop: RunLoop, capsys: pytest.CaptureFixture[str], status: int
) -> None:
    fake.response_status = status
    ids = [fake.enqueue(EVENT), fake.enqueue(EVENT)]
    await run_loop(_sync_handler, invocations=2)
    assert all(fake.exchanges[i].complete for i in ids)
    records = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(r["message"], r["status"]) for r in records] == [
        ("streamed response rejected", status)
    ] * 2


async def test_a_5xx_from_lambda_stops_the_loop(fake: FakeRuntimeApi, run_loop: RunLoop) -> None:
    fake.response_status = 500
    fake.enqueue(EVENT)
    fake.enqueue(EVENT)
    with pytest.raises(RuntimeApiError, match="500"):
        await run_loop(_sync_handler, invocations=2)
    assert len(fake.exchanges) == 1


async def test_a_lost_connection_mid_stream_is_logged_and_the_loop_goes_on(
    fake: FakeRuntimeApi, run_loop: RunLoop, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.cut_after = b"first"

    async def body() -> AsyncIterator[bytes]:
        yield b"first"
        await asyncio.wait_for(fake.received(cut, b"first"), 2)
        for _ in range(50):  # the cut shows on a later write or on reading the reply
            await asyncio.sleep(0.001)
            yield b"more"

    cut = fake.enqueue(EVENT)
    after = fake.enqueue({**EVENT, "body": "after"})
    handler = app_of(lambda: HttpResponse(200, SSE, body()))
    await run_loop(handler, invocations=1)
    fake.cut_after = None
    await run_loop(_sync_handler, invocations=1)
    assert fake.exchanges[after].body == b"after"
    assert "lost the Runtime API while streaming" in capsys.readouterr().err


_GOOD = dict(framing.STREAMING_HEADERS)
_PRELUDE = framing.prelude(200, {}, ())
_LAST = framing.LAST_CHUNK


@pytest.mark.parametrize(
    ("headers", "body", "violation"),
    [
        pytest.param(
            {**_GOOD, "Lambda-Runtime-Function-Response-Mode": "Streaming"},
            framing.chunk(_PRELUDE + b"x") + _LAST,
            "lambda-runtime-function-response-mode",
            id="mode-not-lower-case",
        ),
        pytest.param(
            {**_GOOD, "Trailer": "Lambda-Runtime-Function-Error-Type"},
            framing.chunk(_PRELUDE + b"x") + _LAST,
            "header trailer",
            id="trailer-undeclared",
        ),
        pytest.param(
            {**_GOOD, "Content-Type": "application/json"},
            framing.chunk(_PRELUDE + b"x") + _LAST,
            "header content-type",
            id="wrong-content-type",
        ),
        pytest.param(
            _GOOD, framing.chunk(b'{"statusCode":200}') + _LAST, "no 8-NUL", id="no-separator"
        ),
        pytest.param(_GOOD, framing.chunk(_PRELUDE) + _LAST, "no body byte", id="no-body-byte"),
        pytest.param(
            _GOOD,
            framing.chunk(_PRELUDE + b"x") + b"0\r\nX-Other: 1\r\n\r\n",
            "undeclared trailers",
            id="undeclared-trailer",
        ),
        pytest.param(
            _GOOD,
            framing.chunk(_PRELUDE + b"x") + framing.error_end("Function.E", b"{}"),
            "error body keys",
            id="error-body-shape",
        ),
    ],
)
async def test_the_fake_rejects_what_lambda_would(
    fake: FakeRuntimeApi, headers: dict[str, str], body: bytes, violation: str
) -> None:
    """The fake is only as good as its strictness: each departure is answered 400."""
    request_id = fake.enqueue(EVENT)
    api = RuntimeApi(fake.address)
    await api.next_invocation()
    api.close()
    host, port = fake.address.split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    target = f"/2018-06-01/runtime/invocation/{request_id}/response"
    head = framing.request_head("POST", target, [("Host", "rapi"), *headers.items()])
    writer.write(head + body)
    assert (await reader.readline()).startswith(b"HTTP/1.1 400")
    writer.close()
    [problem] = fake.violations
    assert violation in problem
    fake.violations.clear()


def _rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_a_trace_id_per_invocation_does_not_grow_the_process() -> None:
    # setenv(3) would keep each of these 20,000 unique values for good: about 3 MB.
    before = _rss_bytes()
    for index in range(20_000):
        _set_trace_id(f"Root=1-{index:08x}-{index:024x};Parent={index:016x};Sampled=0")
    assert _rss_bytes() - before < 1_000_000
    assert os.environ["_X_AMZN_TRACE_ID"].startswith("Root=1-00004e1f-")
    _set_trace_id(None)
    assert "_X_AMZN_TRACE_ID" not in os.environ
