"""Bedrock's failures through the real boto3 client and the fake: AWS's error responses and
in-stream exceptions map to llmrelay's errors, refused parameters never reach Bedrock,
throttling is retried by the gateway's policy, and a consumer that goes away leaves no
thread and no connection behind."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncGenerator, Iterator
from typing import Any

import pytest
from tests.gateway.app_client import call
from tests.gateway.fakes import Context
from tests.helpers.outcome import Drained
from tests.protocols.sse_reader import read_json_events

from llmrelay import ChatRequest, stream_chat, stream_resilient
from llmrelay.config import Settings, get_settings
from llmrelay.errors import (
    AuthenticationFailed,
    ConfigurationError,
    LLMRelayError,
    RateLimited,
    UnsupportedParameter,
    UpstreamBadRequest,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from llmrelay.events import Finish, StreamEvent, TextDelta
from llmrelay.gateway import GatewayOptions, build_app
from llmrelay.providers.bedrock_clients import clear_clients
from llmrelay.secrets import StaticSecrets
from llmrelay.testing import FakeBedrock, Fault, Reply

from .conftest import Outcome

MODEL = "bedrock/amazon.nova-pro-v1:0"
KEY = "AKIAIOSFODNN7EXAMPLE"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, _shared_botocore_loader: None) -> Iterator[FakeBedrock]:
    with FakeBedrock() as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", server.url)
        monkeypatch.setenv("LLMRELAY_UPSTREAM_READ_TIMEOUT_S", "0.5")
        get_settings.cache_clear()
        yield server
    clear_clients()


def request(**fields: Any) -> ChatRequest:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], **fields}
    return ChatRequest.parse(body)


async def drain(**fields: Any) -> Outcome:
    stream = stream_chat(request(**fields), settings=Settings.from_env({}), secrets=StaticSecrets())
    return await Outcome.drain(stream)


STATUS_CASES = [
    pytest.param(429, None, RateLimited, id="429-ThrottlingException"),
    pytest.param(429, "ModelNotReadyException", UpstreamUnavailable, id="429-ModelNotReady"),
    pytest.param(400, "ServiceQuotaExceededException", RateLimited, id="400-ServiceQuota"),
    pytest.param(400, None, UpstreamBadRequest, id="400-ValidationException"),
    pytest.param(404, None, UpstreamBadRequest, id="404-ResourceNotFound"),
    pytest.param(403, None, AuthenticationFailed, id="403-AccessDenied"),
    pytest.param(401, None, AuthenticationFailed, id="403-UnrecognizedClient"),
    pytest.param(403, "ExpiredTokenException", AuthenticationFailed, id="403-ExpiredToken"),
    pytest.param(408, None, UpstreamTimeout, id="408-ModelTimeout"),
    pytest.param(424, None, UpstreamUnavailable, id="424-ModelError"),
    pytest.param(500, None, UpstreamUnavailable, id="500-InternalServer"),
    pytest.param(503, None, UpstreamUnavailable, id="503-ServiceUnavailable"),
    pytest.param(409, "SomethingNewException", UpstreamBadRequest, id="409-unknown-code"),
    pytest.param(502, "SomethingNewException", UpstreamUnavailable, id="502-unknown-code"),
]


@pytest.mark.parametrize(("status", "code", "error"), STATUS_CASES)
async def test_an_error_response_maps_to_its_llmrelay_error(
    fake: FakeBedrock, status: int, code: str | None, error: type[LLMRelayError]
) -> None:
    fault = Fault("status", status=status, message=f"denied for {KEY}", retry_after="2")
    if code is not None:
        fault = Fault("status", status=status, error_type=code, message=fault.message)
    fake.queue(Reply(fault=fault))
    outcome = await drain()
    assert type(outcome.error) is error, outcome.error
    assert outcome.error.provider == "bedrock"
    assert KEY not in str(outcome.error)
    assert outcome.events == []
    if code is None:
        assert outcome.error.retry_after == 2.0


IN_STREAM_CASES = [
    pytest.param("modelStreamErrorException", UpstreamUnavailable, id="modelStreamError"),
    pytest.param("ThrottlingException", RateLimited, id="throttling"),
    pytest.param("ValidationException", UpstreamBadRequest, id="validation"),
    pytest.param("InternalServerException", UpstreamUnavailable, id="internalServer"),
    pytest.param("ServiceUnavailableException", UpstreamUnavailable, id="serviceUnavailable"),
    pytest.param("BrandNewException", UpstreamUnavailable, id="unknown"),
]


@pytest.mark.parametrize(("exception", "error"), IN_STREAM_CASES)
async def test_an_exception_in_the_stream_ends_it_after_the_text_so_far(
    fake: FakeBedrock, exception: str, error: type[LLMRelayError]
) -> None:
    fault = Fault("in_stream_error", after_chunks=2, error_type=exception)
    fake.queue(Reply(fault=fault))
    outcome = await drain()
    assert outcome.text == "Hello, "
    assert type(outcome.error) is error, outcome.error
    assert "failed mid-answer" in outcome.error.message
    assert not any(isinstance(e, Finish) for e in outcome.events)


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        pytest.param(Fault("malformed", after_chunks=1), UpstreamUnavailable, id="bad-crc"),
        pytest.param(Fault("cut", after_chunks=1), UpstreamUnavailable, id="cut"),
        pytest.param(Fault("stall", after_chunks=1, delay_s=3), UpstreamTimeout, id="stall"),
        pytest.param(Fault("slow_first_byte", delay_s=3), UpstreamTimeout, id="slow-head"),
    ],
)
async def test_a_broken_stream_ends_in_one_error(
    fake: FakeBedrock, fault: Fault, error: type[LLMRelayError]
) -> None:
    fake.queue(Reply(fault=fault))
    outcome = await drain()
    assert type(outcome.error) is error, outcome.error
    assert outcome.text in ("", "Hello")


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        pytest.param({"seed": 7}, "seed", id="seed"),
        pytest.param({"parallel_tool_calls": False}, "parallel_tool_calls", id="parallel"),
        pytest.param(
            {
                "messages": [
                    {"role": "user", "content": [{"type": "image", "url": "https://x/y.png"}]}
                ]
            },
            "messages",
            id="image-url",
        ),
        pytest.param(
            {"tools": [{"name": "t"}], "tool_choice": "none"}, "tool_choice", id="tool-choice-none"
        ),
        pytest.param({"response_format": {"type": "json_object"}}, "response_format", id="json"),
        pytest.param({"user": "naïve user"}, "user", id="user-characters"),
    ],
)
async def test_a_refused_parameter_is_a_400_before_any_call(
    fake: FakeBedrock, fields: dict[str, Any], param: str
) -> None:
    outcome = await drain(**fields)
    assert isinstance(outcome.error, UnsupportedParameter), outcome.error
    assert (outcome.error.status, outcome.error.param) == (400, param)
    assert fake.requests == []


async def test_no_region_is_a_configuration_error(
    fake: FakeBedrock, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name)
    outcome = await drain()
    assert isinstance(outcome.error, ConfigurationError)
    assert "AWS_REGION" in outcome.error.message
    assert fake.requests == []


async def test_no_credentials_is_a_missing_key_not_a_crash(
    fake: FakeBedrock, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    outcome = await drain()
    assert outcome.error is not None
    assert outcome.error.code == "missing_key", outcome.error
    assert fake.requests == []


async def test_throttling_is_retried_by_the_policy(fake: FakeBedrock) -> None:
    fake.queue(Reply(fault=Fault("status", status=429, retry_after="0.05")), Reply())
    settings = Settings.from_env({"LLMRELAY_RETRY_ATTEMPTS": "1", "LLMRELAY_RETRY_BASE_MS": "1"})
    stream = stream_resilient(request(), settings=settings, secrets=StaticSecrets())
    outcome = await Drained[object].drain(stream)
    assert outcome.text == "Hello, world!"
    assert len(fake.requests) == 2


def bedrock_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "llmrelay-bedrock"]


def connections_to(port: int) -> int:
    """Established TCP connections from this process to ``port`` (Linux ``/proc``)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]  # noqa: SIM115
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            remote, state = fields[2], fields[3]
            if state == "01" and int(remote.rsplit(":", 1)[1], 16) == port:
                count += 1
    return count


async def settle(predicate: Any, timeout_s: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def test_a_consumer_that_goes_away_leaves_no_thread_or_connection(
    fake: FakeBedrock,
) -> None:
    fake.queue(Reply(pieces=("word ",) * 50, piece_delay_s=0.05))
    stream = aiter(stream_chat(request(), settings=Settings.from_env({}), secrets=StaticSecrets()))
    assert isinstance(stream, AsyncGenerator)
    seen: list[StreamEvent] = []
    async for event in stream:
        seen.append(event)
        if sum(isinstance(e, TextDelta) for e in seen) == 2:
            break
    assert len(bedrock_threads()) == 1
    await stream.aclose()  # the client went away
    started = time.monotonic()
    assert await settle(lambda: not bedrock_threads()), bedrock_threads()
    assert time.monotonic() - started < 0.5  # woken, not waiting out the read timeout
    # The fake's server side sees the connection go: nothing stays open on either end.
    assert await settle(lambda: connections_to(fake.port) == 0)


async def test_a_cancelled_consumer_leaves_no_thread(fake: FakeBedrock) -> None:
    fake.queue(Reply(fault=Fault("stall", after_chunks=1, delay_s=5)))

    async def consume() -> None:
        async for _ in stream_chat(
            request(), settings=Settings.from_env({}), secrets=StaticSecrets()
        ):
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.2)  # the head and the first piece came, then the stall
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await settle(lambda: not bedrock_threads(), 0.4), bedrock_threads()


async def test_a_finished_stream_keeps_its_connection_for_the_next_call(fake: FakeBedrock) -> None:
    for _ in range(3):
        assert (await drain()).error is None
    assert connections_to(fake.port) == 1
    assert await settle(lambda: not bedrock_threads())


async def test_the_deadline_ends_a_stalled_bedrock_stream_and_its_thread(
    fake: FakeBedrock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the gateway as the function runs it: the deadline, not the upstream, ends the
    stream, in band and in time, and the thread reading Bedrock goes with it."""
    monkeypatch.setenv("LLMRELAY_UPSTREAM_READ_TIMEOUT_S", "30")  # no SDK timeout helps here
    get_settings.cache_clear()
    fake.queue(Reply(fault=Fault("stall", after_chunks=2, delay_s=10)))
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    context = Context(remaining_ms=1200)
    response, raw = await call(
        build_app(options=GatewayOptions()), "POST", "/chat", body, None, context
    )
    assert response.status == 200
    events = read_json_events(raw)
    assert [data["text"] for name, data in events if name == "delta"] == ["Hello", ", "]
    name, error = events[-1]
    assert (name, error["code"]) == ("error", "deadline_exceeded")
    assert context.get_remaining_time_in_millis() >= 150
    assert await settle(lambda: not bedrock_threads(), 0.5), bedrock_threads()
    assert await settle(lambda: connections_to(fake.port) == 0)
