"""The function URL front, the worker pool and the Runtime API emulators, in this process,
with real worker processes running the real ``llmrelay-stream`` wrapper and runtime loop."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import sys
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import cast

import httpx
import pytest

from llmrelay.httpd import Limits, Request, ResponseWriter
from llmrelay.local.dev import DevOptions, Gateway, running_gateway
from llmrelay.local.front import FRONT_LIMITS, FunctionUrl
from llmrelay.local.function import local_function
from llmrelay.local.pool import WorkerPool
from llmrelay.local.workers import WorkerSpec
from llmrelay.testing.openai_fake import FakeOpenAI, bearer_of

from .conftest import ROOT, clean_environment, pid_alive
from .sse_client import aread_stream, chat, worker_of

pytestmark = pytest.mark.e2e

TWELVE_WORDS = "one two three four five six seven eight nine ten eleven twelve"
TEMPLATE = ROOT / "template.yaml"

# A runtime that answers its one invocation as scripted, on raw sockets: the prelude, then
# the body's first bytes GAP_S seconds later (0: in the same send), more, and the end.
SCRIPTED_RUNTIME = r"""
import json
import os
import socket
import time

host, _, port = os.environ["AWS_LAMBDA_RUNTIME_API"].rpartition(":")
gap_s = float(os.environ["GAP_S"])
base = "/2018-06-01/runtime/invocation"


def chunk(data):
    return b"%x\r\n%s\r\n" % (len(data), data)


def send(connection, data):
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    connection.sendall(data)


def reply_head(connection):
    head = b""
    while b"\r\n\r\n" not in head:
        head += connection.recv(65536)
    return head.decode("latin-1")


def next_event():
    connection = socket.create_connection((host, int(port)))
    send(connection, f"GET {base}/next HTTP/1.1\r\nHost: rapi\r\n\r\n".encode())
    for line in reply_head(connection).split("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "lambda-runtime-aws-request-id":
            return value.strip()


request_id = next_event()
prelude = json.dumps({"statusCode": 200, "headers": {"content-type": "text/plain"}})
head = (
    f"POST {base}/{request_id}/response HTTP/1.1\r\nHost: rapi\r\n"
    "Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n"
    "Content-Type: application/vnd.awslambda.http-integration-response\r\n\r\n"
).encode() + chunk(prelude.encode() + b"\0" * 8)
connection = socket.create_connection((host, int(port)))
if gap_s:
    send(connection, head)
    time.sleep(gap_s)
    send(connection, chunk(b"first"))
else:
    send(connection, head + chunk(b"first"))
time.sleep(0.05)
send(connection, chunk(b"second") + b"0\r\n\r\n")
reply_head(connection)
next_event()
"""


@contextlib.asynccontextmanager
async def gateway(
    template: Path = TEMPLATE,
    env: Mapping[str, str] | None = None,
    *,
    concurrency: int = 4,
    queue_timeout_s: float = 5.0,
    function: str | None = None,
    secrets_file: Path | None = None,
    limits: Limits = FRONT_LIMITS,
) -> AsyncIterator[Gateway]:
    environ = clean_environment(env)
    with local_function(
        template, function=function, secrets_file=secrets_file, environ=environ
    ) as fn:
        options = DevOptions(
            port=0, concurrency=concurrency, queue_timeout_s=queue_timeout_s, limits=limits
        )
        async with running_gateway(fn, options) as running:
            yield running


class _Transport:
    """A socket that takes every write at once."""

    def get_write_buffer_size(self) -> int:
        return 0

    def is_closing(self) -> bool:
        return False


class _Wire:
    """The client's connection as the front writes to it: each write, and when."""

    def __init__(self) -> None:
        self.writes: list[tuple[float, bytes]] = []
        self.transport = _Transport()

    def write(self, data: bytes) -> None:
        self.writes.append((time.monotonic(), bytes(data)))

    async def drain(self) -> None:
        return None


async def _relay_scripted(tmp_path: Path, gap_s: float) -> list[tuple[float, bytes]]:
    """One GET through the front to a worker running :data:`SCRIPTED_RUNTIME`."""
    script = tmp_path / "runtime.py"
    script.write_text(SCRIPTED_RUNTIME, encoding="utf-8")
    spec = WorkerSpec(
        command=(sys.executable, str(script)),
        environment=clean_environment({"GAP_S": str(gap_s)}),
        cwd=tmp_path,
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:Scripted",
        timeout_s=5.0,
    )
    pool = WorkerPool(spec, concurrency=1)
    wire = _Wire()
    try:
        await FunctionUrl(pool, 0)(
            Request("GET", "/", {}), ResponseWriter.detached(cast(asyncio.StreamWriter, wire))
        )
    finally:
        await pool.close()
    return wire.writes


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0)) as http:
        yield http


@pytest.fixture
def request_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level("INFO", logger="llmrelay.local")
    return caplog


async def test_deltas_reach_the_client_as_they_are_produced(client: httpx.AsyncClient) -> None:
    async with gateway(env={"LLMRELAY_ECHO_DELAY_MS": "80"}) as running:
        stream = await aread_stream(client, f"{running.url}/chat", chat(TWELVE_WORDS))
    deltas = stream.named("delta")
    assert stream.text == TWELVE_WORDS
    assert deltas[-1].at - deltas[0].at > 0.6  # eleven 80 ms pauses, not one burst
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(deltas)]
    assert sum(gap > 0.04 for gap in gaps) >= 9


async def test_the_prelude_sets_status_and_headers(client: httpx.AsyncClient) -> None:
    async with gateway() as running:
        stream = await aread_stream(client, f"{running.url}/chat", chat("hello streaming world"))
    assert stream.status == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert stream.headers["cache-control"] == "no-cache"
    assert stream.headers["x-accel-buffering"] == "no"
    assert stream.headers["transfer-encoding"] == "chunked"
    assert stream.headers["x-amzn-requestid"]
    assert [event.name for event in stream.events] == ["meta", "delta", "delta", "delta", "done"]
    assert stream.text == "hello streaming world"


async def test_the_head_leaves_with_the_body_s_first_bytes_when_they_are_at_hand(
    tmp_path: Path,
) -> None:
    writes = [data for _, data in await _relay_scripted(tmp_path, gap_s=0)]
    head, _, first = writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert first == b"5\r\nfirst\r\n"
    assert b"".join(writes[1:]) == b"6\r\nsecond\r\n0\r\n\r\n"


async def test_the_head_does_not_wait_for_first_bytes_that_are_not_there(tmp_path: Path) -> None:
    (head_at, head), (first_at, first), *_ = await _relay_scripted(tmp_path, gap_s=0.3)
    assert head.startswith(b"HTTP/1.1 200 ")
    assert head.endswith(b"\r\n\r\n")
    assert first == b"5\r\nfirst\r\n"
    assert first_at - head_at > 0.2  # sent as soon as it came, not with the first bytes


async def test_parallel_streams_each_get_their_own_worker(client: httpx.AsyncClient) -> None:
    messages = [f"stream {n} says {' '.join(['word'] * 6)} {n}" for n in range(3)]
    async with gateway(env={"LLMRELAY_ECHO_DELAY_MS": "50"}) as running:
        url = f"{running.url}/chat"
        streams = await asyncio.gather(*(aread_stream(client, url, chat(m)) for m in messages))
    assert [stream.text for stream in streams] == messages
    assert all(stream.named("done") for stream in streams)
    assert len({worker_of(stream.headers)[0] for stream in streams}) == 3


async def test_a_warm_worker_is_reused_and_answers_faster(
    client: httpx.AsyncClient, request_log: pytest.LogCaptureFixture
) -> None:
    async with gateway(concurrency=1) as running:
        timings, workers = [], []
        for _ in range(2):
            began = time.monotonic()
            response = await client.get(f"{running.url}/health")
            timings.append(time.monotonic() - began)
            workers.append(worker_of(response.headers))
    assert workers[0][1] == "cold"
    assert workers[1] == (workers[0][0], "warm")
    assert timings[1] < timings[0]
    assert any("GET /health 200" in line and "cold (init" in line for line in request_log.messages)
    assert any("GET /health 200" in line and " warm " in line for line in request_log.messages)


async def test_requests_beyond_the_concurrency_wait_then_get_429(client: httpx.AsyncClient) -> None:
    async with gateway(
        env={"LLMRELAY_ECHO_DELAY_MS": "100"}, concurrency=1, queue_timeout_s=0.3
    ) as running:
        await client.get(f"{running.url}/health")  # the one worker is warm
        busy = asyncio.create_task(aread_stream(client, f"{running.url}/chat", chat(TWELVE_WORDS)))
        await asyncio.sleep(0.3)
        refused = await client.get(f"{running.url}/health")
        first = await asyncio.wait_for(busy, 10)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["error"]["code"] == "too_many_requests"
    assert first.text == TWELVE_WORDS


async def test_a_waiting_request_gets_the_worker_once_it_is_free(client: httpx.AsyncClient) -> None:
    async with gateway(env={"LLMRELAY_ECHO_DELAY_MS": "50"}, concurrency=1) as running:
        url = f"{running.url}/chat"
        first, second = await asyncio.gather(
            aread_stream(client, url, chat("a b c d")), aread_stream(client, url, chat("e f g h"))
        )
    assert (first.text, second.text) == ("a b c d", "e f g h")
    assert worker_of(first.headers)[0] == worker_of(second.headers)[0]


async def test_a_client_that_goes_away_does_not_stop_the_function(
    client: httpx.AsyncClient, request_log: pytest.LogCaptureFixture
) -> None:
    async with gateway(env={"LLMRELAY_ECHO_DELAY_MS": "100"}, concurrency=1) as running:
        async with client.stream(
            "POST", f"{running.url}/chat", json=chat(TWELVE_WORDS)
        ) as response:
            pid = worker_of(response.headers)[0]
            async for line in response.aiter_lines():
                if line.startswith("event: delta"):
                    break
        began = time.monotonic()
        after = await client.get(f"{running.url}/health")  # waits for the one worker
        assert worker_of(after.headers) == (pid, "warm")
        assert time.monotonic() - began > 0.5  # the rest of the twelve words, 100 ms apart
    assert any(line.startswith("POST /chat 200") for line in request_log.messages)


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        pytest.param("GET", "/no-such-route", 404, "not_found", id="404"),
        pytest.param("DELETE", "/chat", 405, "method_not_allowed", id="405"),
    ],
)
async def test_routing_errors_are_json(
    client: httpx.AsyncClient, method: str, path: str, status: int, code: str
) -> None:
    async with gateway() as running:
        response = await client.request(method, f"{running.url}{path}")
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["code"] == code


async def test_a_body_over_6_mb_is_refused_with_413(client: httpx.AsyncClient) -> None:
    async with gateway() as running:
        response = await client.post(f"{running.url}/chat", content=b"x" * (6 * 1024 * 1024 + 1))
        assert running.pool.size == 0  # no worker was started for it
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_an_oversized_body_announced_with_expect_100_is_refused_before_it_is_sent() -> None:
    async with gateway() as running:
        reader, writer = await asyncio.open_connection("127.0.0.1", running.port)
        head = f"POST /chat HTTP/1.1\r\nHost: x\r\nContent-Length: {7 * 1024 * 1024}\r\n"
        writer.write(f"{head}Expect: 100-continue\r\n\r\n".encode())
        answer = await asyncio.wait_for(reader.read(), 5)  # the server closes after its 413
        writer.close()
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"payload_too_large" in answer


async def test_a_body_announced_with_expect_100_gets_a_100_continue() -> None:
    async with gateway() as running:
        reader, writer = await asyncio.open_connection("127.0.0.1", running.port)
        writer.write(
            b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
        )
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        writer.write(b"{}")
        final = await asyncio.wait_for(reader.readuntil(b"\r\n"), 10)
        writer.close()
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert final.startswith(b"HTTP/1.1 200 ")


async def test_a_body_just_under_6_mb_reaches_the_function(
    client: httpx.AsyncClient, test_function: Path
) -> None:
    body = b"y" * (6 * 1024 * 1024 - 4096)  # the event around it takes the rest
    async with gateway(test_function) as running:
        response = await client.post(f"{running.url}/echo", content=body)
    assert response.status_code == 201
    assert response.content == body


async def test_a_binary_body_travels_base64_and_comes_back_intact(
    client: httpx.AsyncClient, test_function: Path
) -> None:
    body = bytes(range(256))
    async with gateway(test_function) as running:
        response = await client.put(f"{running.url}/echo?x=1", content=body)
    assert response.status_code == 201
    assert response.content == body
    assert response.headers["x-method"] == "PUT"
    assert response.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2"]


async def test_an_error_before_the_first_byte_is_a_502(
    client: httpx.AsyncClient, test_function: Path
) -> None:
    async with gateway(test_function) as running:
        failed = await client.get(f"{running.url}/fail")
        after = await client.get(f"{running.url}/pid")
    assert failed.status_code == 502
    assert failed.json()["error"]["code"] == "function_error"
    assert "failed before the first byte" in failed.json()["error"]["message"]
    assert worker_of(after.headers) == (worker_of(failed.headers)[0], "warm")  # it lives on


async def test_an_error_after_the_first_byte_ends_the_stream(
    client: httpx.AsyncClient, test_function: Path, request_log: pytest.LogCaptureFixture
) -> None:
    async with gateway(test_function) as running:
        response = await client.get(f"{running.url}/fail-midway")
    assert response.status_code == 200
    assert response.content == b"partial\n"
    assert any("function error after the first byte" in line for line in request_log.messages)


async def test_a_worker_that_crashes_is_a_502_and_is_replaced(
    client: httpx.AsyncClient, test_function: Path
) -> None:
    async with gateway(test_function) as running:
        crashed = await client.get(f"{running.url}/crash")
        after = await client.get(f"{running.url}/pid")
    assert crashed.status_code == 502
    assert "Runtime.ExitError" in crashed.json()["error"]["message"]
    assert worker_of(after.headers)[1] == "cold"
    assert int(after.text) != worker_of(crashed.headers)[0]


async def test_the_timeout_is_enforced_and_the_worker_replaced(
    client: httpx.AsyncClient, test_function: Path
) -> None:
    async with gateway(test_function, {"LLMRELAY_DEV_TIMEOUT": "1"}) as running:
        began = time.monotonic()
        hang = await client.get(f"{running.url}/hang")
        elapsed = time.monotonic() - began
        replaced = await client.get(f"{running.url}/pid")
    assert hang.status_code == 504
    assert hang.json()["error"] == {
        "code": "function_timeout",
        "message": "Task timed out after 1.00 seconds",
        "retryable": True,
    }
    assert 0.9 < elapsed < 3
    timed_out = worker_of(hang.headers)[0]
    assert not pid_alive(timed_out)
    assert worker_of(replaced.headers)[1] == "cold"
    assert int(replaced.text) != timed_out


async def test_a_stream_past_the_timeout_is_cut(
    client: httpx.AsyncClient, test_function: Path
) -> None:
    received = bytearray()
    async with (
        gateway(test_function, {"LLMRELAY_DEV_TIMEOUT": "1"}) as running,
        client.stream("GET", f"{running.url}/drip") as response,
    ):
        assert response.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):  # no last chunk: the stream was cut
            await _read_into(received, response)
    assert received.startswith(b"tick 0\ntick 1\n")
    assert 10 < received.count(b"\n") < 40  # about 1 s of 50 ms ticks, then nothing


async def _read_into(buffer: bytearray, response: httpx.Response) -> None:
    async for part in response.aiter_bytes():
        buffer.extend(part)


async def test_a_function_that_cannot_init_is_a_502(
    client: httpx.AsyncClient, test_function: Path
) -> None:
    async with gateway(test_function, function="BrokenFunction") as running:
        response = await client.get(f"{running.url}/health")
        assert running.pool.size == 0  # the failed worker is gone
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "function_error"
    assert error["message"].startswith("init failed: Runtime.ImportModuleError")
    assert "this module is broken" in error["message"]


async def test_the_users_environment_overrides_the_templates(
    client: httpx.AsyncClient, test_function: Path
) -> None:
    async with gateway(test_function, {"FROM_TEMPLATE": "overridden"}) as running:
        env = (await client.get(f"{running.url}/env")).json()
    assert env["FROM_TEMPLATE"] == "overridden"
    assert env["_HANDLER"] == "app.handler"
    assert env["LAMBDA_TASK_ROOT"] == str(test_function.parent / "fn")
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "ChatFunction"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128"
    assert env["AWS_LAMBDA_RUNTIME_API"].startswith("127.0.0.1:")
    assert env["AWS_REGION"] == "us-east-1"


async def test_the_event_and_the_invocation_share_the_request_id(
    client: httpx.AsyncClient, test_function: Path
) -> None:
    async with gateway(test_function) as running:
        response = await client.get(f"{running.url}/ids")
    request_id = response.headers["x-amzn-requestid"]
    assert response.json() == {"event": request_id, "context": request_id}


async def test_the_seeded_secret_reaches_the_provider(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"OPENAI_API_KEY": "sk-local-test"}), encoding="utf-8")
    body = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    with FakeOpenAI(api_key="sk-local-test") as fake:
        env = {"LLMRELAY_OPENAI_BASE_URL": f"{fake.url}/v1"}
        async with gateway(env=env, secrets_file=keys) as running:
            stream = await aread_stream(client, f"{running.url}/chat", body)
    assert stream.status == 200
    assert stream.text == "Hello, world!"
    assert [bearer_of(request) for request in fake.requests] == ["sk-local-test"]
