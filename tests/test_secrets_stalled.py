"""A Secrets Manager that accepts connections and never answers (a VPC without a route to
it): requests that need a key fail promptly with ``missing_key``; others never wait."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from tests.conftest import SecretFactory
from tests.helpers.silent import silent_endpoint

from llmrelay import ChatRequest, stream_chat
from llmrelay.config import Settings, get_settings
from llmrelay.errors import MissingKey
from llmrelay.events import Finish
from llmrelay.secrets import (
    SecretsManagerStore,
    clear_secret_caches,
    load_secret,
    secret_store_for,
)


@pytest.fixture(name="silent_endpoint")
def _silent_endpoint() -> Iterator[str]:
    with silent_endpoint() as url:
        yield url


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


async def test_the_wait_ends_at_the_request_deadline(stalled: Settings) -> None:
    store = SecretsManagerStore(stalled.secret_id or "", wait_s=10.0)
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    with pytest.raises(MissingKey, match=r"within 0\.3 s"):
        await load_secret(store, deadline=loop.time() + 0.3)
    assert time.monotonic() - started < 1.5  # the deadline, not the 10 s wait


async def test_a_deadline_already_past_fails_at_once(stalled: Settings) -> None:
    store = SecretsManagerStore(stalled.secret_id or "", wait_s=10.0)
    started = time.monotonic()
    with pytest.raises(MissingKey):
        await load_secret(store, deadline=asyncio.get_running_loop().time() - 1)
    assert time.monotonic() - started < 0.2


async def test_a_cached_secret_keeps_serving_while_its_refresh_fails(
    moto_secret: SecretFactory,
) -> None:
    secret = moto_secret({"OPENAI_API_KEY": "sk-cached-key"})
    store = SecretsManagerStore(secret.secret_id, max_age=0)
    await load_secret(store)
    secret.delete()  # every refetch fails from now on
    for _ in range(3):
        await load_secret(store)  # past max_age: refetched in the background, never raised
        assert store.get("OPENAI_API_KEY") == "sk-cached-key"
        await asyncio.sleep(0.2)
    assert store._failure is not None  # the refetches did run, and failed
