"""The Runtime API emulator speaks Lambda's protocol, and checks it as Lambda does."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator

import pytest

from llmrelay.local.invocation import (
    FunctionError,
    FunctionTimeout,
    Invocation,
    InvocationFailed,
    RawItem,
    ResponseEnded,
    ResponseStarted,
)
from llmrelay.local.runtime_api import InitFailed, RuntimeApi

from .rapi_client import Reply, call, chunked, send_raw

ARN = "arn:aws:lambda:us-east-1:123456789012:function:ChatFunction"
EVENT = b'{"rawPath": "/chat"}'
PRELUDE = b'{"statusCode":200,"headers":{"content-type":"text/plain"}}' + b"\0" * 8
STREAM_MODE = ("Lambda-Runtime-Function-Response-Mode", "streaming")


@pytest.fixture
async def api() -> AsyncIterator[RuntimeApi]:
    emulator = RuntimeApi(ARN)
    await emulator.start()
    yield emulator
    emulator.close()


async def _next(api: RuntimeApi, timeout_s: float = 5.0) -> tuple[Invocation, Reply]:
    """Submit one invocation and fetch it as the runtime would."""
    invocation = Invocation(EVENT, timeout_s)
    api.submit(invocation)
    reply = await call(api.address, "GET", "/invocation/next")
    return invocation, reply


async def _collect(invocation: Invocation) -> list[RawItem]:
    return [item async for item in invocation.items()]


async def test_next_hands_out_the_event_with_lambdas_headers(api: RuntimeApi) -> None:
    before = time.time() * 1000
    invocation, reply = await _next(api, timeout_s=30)
    assert reply.status == 200
    assert reply.body == EVENT
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers["lambda-runtime-aws-request-id"] == invocation.request_id
    assert reply.headers["lambda-runtime-invoked-function-arn"] == ARN
    assert reply.headers["lambda-runtime-trace-id"].startswith("Root=1-")
    deadline = int(reply.headers["lambda-runtime-deadline-ms"])
    assert before + 29_000 < deadline <= time.time() * 1000 + 30_000


async def test_next_waits_for_an_invocation_and_marks_init_done(api: RuntimeApi) -> None:
    poll = asyncio.create_task(call(api.address, "GET", "/invocation/next"))
    await api.wait_ready(5)
    assert not poll.done()
    invocation = Invocation(EVENT, 5)
    api.submit(invocation)
    reply = await asyncio.wait_for(poll, 5)
    assert reply.headers["lambda-runtime-aws-request-id"] == invocation.request_id


async def test_a_streamed_response_arrives_in_order_and_is_accepted(api: RuntimeApi) -> None:
    invocation, _ = await _next(api)
    request = chunked(f"/invocation/{invocation.request_id}/response", [PRELUDE, b"one ", b"two"])
    reply = await send_raw(api.address, request)
    assert (reply.status, reply.json()) == (202, {"status": "OK"})
    started, *body, ended = await _collect(invocation)
    assert started == ResponseStarted(
        "application/vnd.awslambda.http-integration-response", streaming=True
    )
    # Read after all of it arrived: the frames queued together come out joined, in order.
    assert body == [PRELUDE + b"one two"]
    assert ended == ResponseEnded()


async def test_frames_that_arrive_apart_reach_the_reader_apart(api: RuntimeApi) -> None:
    invocation, _ = await _next(api)
    request = chunked(f"/invocation/{invocation.request_id}/response", [PRELUDE])
    host, _, port = api.address.rpartition(":")
    _, writer = await asyncio.open_connection(host, int(port))
    writer.write(request[: -len(b"0\r\n\r\n")])
    await writer.drain()
    items = invocation.items()
    assert isinstance(await anext(items), ResponseStarted)
    assert await asyncio.wait_for(anext(items), 2) == PRELUDE
    writer.write(b"4\r\none \r\n")
    await writer.drain()
    assert await asyncio.wait_for(anext(items), 2) == b"one "
    writer.write(b"3\r\ntwo\r\n")
    await writer.drain()
    assert await asyncio.wait_for(anext(items), 2) == b"two"  # nothing held back for more
    writer.write(b"0\r\n\r\n")
    await writer.drain()
    assert await asyncio.wait_for(anext(items), 2) == ResponseEnded()
    writer.close()


async def test_body_bytes_reach_the_reader_before_the_stream_ends(api: RuntimeApi) -> None:
    invocation, _ = await _next(api)
    request = chunked(f"/invocation/{invocation.request_id}/response", [PRELUDE])
    host, _, port = api.address.rpartition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(request[: -len(b"0\r\n\r\n")])  # the prelude chunk, not the end
    await writer.drain()
    items = invocation.items()
    assert isinstance(await anext(items), ResponseStarted)
    assert await asyncio.wait_for(anext(items), 2) == PRELUDE
    writer.write(b"0\r\n\r\n")
    await writer.drain()
    assert await asyncio.wait_for(anext(items), 2) == ResponseEnded()
    assert b" 202 " in await asyncio.wait_for(reader.readuntil(b"\r\n"), 2)
    writer.close()


async def test_error_trailers_end_the_stream_with_the_functions_error(api: RuntimeApi) -> None:
    invocation, _ = await _next(api)
    document = {
        "errorType": "Runtime.StreamError",
        "errorMessage": "upstream cut",
        "stackTrace": [],
    }
    trailers = [
        ("Lambda-Runtime-Function-Error-Type", "Runtime.StreamError"),
        (
            "Lambda-Runtime-Function-Error-Body",
            base64.b64encode(json.dumps(document).encode()).decode(),
        ),
    ]
    path = f"/invocation/{invocation.request_id}/response"
    reply = await send_raw(api.address, chunked(path, [PRELUDE, b"partial"], trailers=trailers))
    assert reply.status == 202
    items = await _collect(invocation)
    assert items[-1] == ResponseEnded(FunctionError("Runtime.StreamError", "upstream cut"))


async def test_a_buffered_response_is_one_body(api: RuntimeApi) -> None:
    invocation, _ = await _next(api)
    body = b'{"statusCode": 200, "body": "hi"}'
    reply = await call(api.address, "POST", f"/invocation/{invocation.request_id}/response", body)
    assert reply.status == 202
    assert await _collect(invocation) == [
        ResponseStarted("application/json", streaming=False),
        body,
        ResponseEnded(),
    ]


async def test_a_buffered_response_over_6_mb_is_refused(api: RuntimeApi) -> None:
    invocation, _ = await _next(api)
    body = b"x" * (6 * 1024 * 1024 + 1)
    reply = await call(api.address, "POST", f"/invocation/{invocation.request_id}/response", body)
    assert (reply.status, reply.json()["errorType"]) == (413, "RequestEntityTooLarge")
    [failed] = await _collect(invocation)
    assert isinstance(failed, InvocationFailed)
    assert failed.error.error_type == "Function.ResponseSizeTooLarge"


@pytest.mark.parametrize("endpoint", ["response", "error"])
async def test_an_unknown_request_id_is_refused(api: RuntimeApi, endpoint: str) -> None:
    await _next(api)
    reply = await call(api.address, "POST", f"/invocation/not-this-one/{endpoint}", b"{}")
    assert reply.status == 400
    assert reply.json() == {"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"}


async def test_a_second_answer_to_the_same_invocation_is_refused(api: RuntimeApi) -> None:
    invocation, _ = await _next(api)
    path = f"/invocation/{invocation.request_id}/response"
    assert (await call(api.address, "POST", path, b"{}")).status == 202
    again = await call(api.address, "POST", path, b"{}")
    assert (again.status, again.json()["errorType"]) == (400, "InvalidRequestID")


@pytest.mark.parametrize("mode", ["Streaming", "buffered", "stream"])
async def test_a_response_mode_other_than_streaming_is_refused(api: RuntimeApi, mode: str) -> None:
    invocation, _ = await _next(api)
    reply = await send_raw(
        api.address, chunked(f"/invocation/{invocation.request_id}/response", [PRELUDE], mode=mode)
    )
    assert (reply.status, reply.json()["errorType"]) == (400, "InvalidFunctionResponseMode")
    [failed] = await _collect(invocation)
    assert isinstance(failed, InvocationFailed)
    assert failed.error.error_type == "Runtime.InvalidResponseModeHeader"


async def test_an_invocation_error_is_accepted_and_reported(api: RuntimeApi) -> None:
    invocation, _ = await _next(api)
    document = json.dumps(
        {"errorType": "ValueError", "errorMessage": "bad input", "stackTrace": []}
    ).encode()
    headers = [("Lambda-Runtime-Function-Error-Type", "Runtime.HandlerError")]
    reply = await call(
        api.address, "POST", f"/invocation/{invocation.request_id}/error", document, headers
    )
    assert reply.status == 202
    assert await _collect(invocation) == [
        InvocationFailed(FunctionError("Runtime.HandlerError", "bad input"))
    ]


async def test_next_before_answering_the_current_invocation_is_refused(api: RuntimeApi) -> None:
    await _next(api)
    reply = await call(api.address, "GET", "/invocation/next")
    assert (reply.status, reply.json()["errorType"]) == (403, "InvalidStateTransition")


async def test_the_runtime_comes_back_for_the_next_invocation(api: RuntimeApi) -> None:
    first, _ = await _next(api)
    await call(api.address, "POST", f"/invocation/{first.request_id}/response", b"{}")
    second, reply = await _next(api)
    assert reply.headers["lambda-runtime-aws-request-id"] == second.request_id != first.request_id


async def test_the_runtime_is_idle_only_once_it_asks_for_the_next_event(api: RuntimeApi) -> None:
    first, _ = await _next(api)
    await call(api.address, "POST", f"/invocation/{first.request_id}/response", b"{}")
    assert not await api.wait_idle(0.05)  # answered, but still at work (logs, metrics)
    poll = asyncio.create_task(call(api.address, "GET", "/invocation/next"))
    assert await api.wait_idle(2)
    api.submit(Invocation(EVENT, 5))
    await asyncio.wait_for(poll, 5)
    assert not await api.wait_idle(0.05)


async def test_a_runtime_that_exits_is_idle(api: RuntimeApi) -> None:
    await _next(api)
    await api.runtime_exited(1)
    assert await api.wait_idle(0)


async def test_an_init_error_fails_the_start(api: RuntimeApi) -> None:
    document = json.dumps(
        {"errorType": "Runtime.ImportModuleError", "errorMessage": "No module named 'app'"}
    )
    headers = [("Lambda-Runtime-Function-Error-Type", "Runtime.ImportModuleError")]
    reply = await call(api.address, "POST", "/init/error", document.encode(), headers)
    assert reply.status == 202
    with pytest.raises(InitFailed, match=r"Runtime\.ImportModuleError: No module named 'app'"):
        await api.wait_ready(1)


async def test_an_init_error_after_init_is_refused(api: RuntimeApi) -> None:
    await _next(api)
    reply = await call(api.address, "POST", "/init/error", b"{}")
    assert (reply.status, reply.json()["errorType"]) == (403, "InvalidStateTransition")


async def test_a_runtime_that_never_asks_for_work_times_out_its_init(api: RuntimeApi) -> None:
    with pytest.raises(InitFailed, match=r"Runtime\.InitTimeout"):
        await api.wait_ready(0.05)


async def test_a_runtime_that_exits_fails_what_it_owed(api: RuntimeApi) -> None:
    current, _ = await _next(api)
    await api.runtime_exited(1)
    [failed] = await _collect(current)
    assert isinstance(failed, InvocationFailed)
    assert failed.error.error_type == "Runtime.ExitError"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        pytest.param("GET", "/invocation/abc/response", 405, id="get-response"),
        pytest.param("POST", "/invocation/next", 405, id="post-next"),
        pytest.param("GET", "/init/error", 405, id="get-init-error"),
        pytest.param("GET", "/nothing", 404, id="unknown"),
        pytest.param("POST", "/invocation//response", 404, id="empty-id"),
    ],
)
async def test_unknown_routes_and_methods_are_refused(
    api: RuntimeApi, method: str, path: str, status: int
) -> None:
    reply = await call(api.address, method, path, b"{}" if method == "POST" else b"")
    assert reply.status == status
    assert "errorType" in reply.json()


async def test_the_reader_gets_a_timeout_when_the_function_runs_past_it(api: RuntimeApi) -> None:
    invocation, _ = await _next(api, timeout_s=0.1)
    with pytest.raises(FunctionTimeout, match=r"Task timed out after 0\.10 seconds"):
        await _collect(invocation)
    assert invocation.timed_out


async def test_paths_outside_the_runtime_api_are_not_found(api: RuntimeApi) -> None:
    reply = await send_raw(api.address, b"GET /2018-06-01/other HTTP/1.1\r\nHost: x\r\n\r\n")
    assert reply.status == 404
