"""A Secrets Manager that accepts connections and never answers (a VPC without a route to
it): requests that need a key fail promptly with ``missing_key``; others never wait."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from llmrelay import ChatRequest, stream_chat
from llmrelay.config import Settings, get_settings
from llmrelay.errors import MissingKey
from llmrelay.events import Finish
from llmrelay.secrets import clear_secret_caches, secret_store_for


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A TCP listener that accepts every connection and never sends a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


@pytest.fixture
def stalled(silent_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", silent_endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("LLMRELAY_SECRET_ID", "llmrelay/stalled")
    monkeypatch.setenv("LLMRELAY_SECRET_TIMEOUT_MS", "500")
    get_settings.cache_clear()
    clear_secret_caches()
    yield get_settings()
    clear_secret_caches()
    get_settings.cache_clear()


async def _ticks_while(awaitable: object, period_s: float = 0.05) -> tuple[int, BaseException]:
    """How often the loop ran a ticker while ``awaitable`` failed, and its error."""
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(period_s)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        await awaitable  # type: ignore[misc]
    except BaseException as exc:
        return ticks, exc
    finally:
        ticker.cancel()
    raise AssertionError("the call did not fail")


async def _drain(request: ChatRequest, settings: Settings) -> None:
    secrets = secret_store_for(settings.secret_id, settings.secret_max_age_s)
    async for _ in stream_chat(request, settings=settings, secrets=secrets):
        pass


async def test_a_keyed_provider_fails_promptly_and_the_loop_keeps_running(
    stalled: Settings,
) -> None:
    request = ChatRequest.parse(
        {"model": "openai/gpt-test", "messages": [{"role": "user", "content": "hi"}]}
    )
    started = time.monotonic()
    ticks, error = await _ticks_while(_drain(request, stalled))
    waited = time.monotonic() - started
    assert isinstance(error, MissingKey)
    assert error.status == 503
    # The wait is bounded (LLMRELAY_SECRET_TIMEOUT_MS=500, far below any function timeout)
    # and never blocks the loop: the ticker kept running all along.
    assert waited < 5
    assert ticks >= 3


async def test_echo_never_waits_on_the_secret(stalled: Settings) -> None:
    request = ChatRequest.parse(
        {"model": "echo/echo", "messages": [{"role": "user", "content": "no key needed"}]}
    )
    secrets = secret_store_for(stalled.secret_id, stalled.secret_max_age_s)
    events = [e async for e in stream_chat(request, settings=stalled, secrets=secrets)]
    assert isinstance(events[-1], Finish)
