from __future__ import annotations

import asyncio
import gc

import pytest

from llmrelay.providers.clients import ClientCache, ClientKey


class Client:
    """Stands for an SDK client: something expensive, made once per key and loop."""

    made = 0

    def __init__(self) -> None:
        Client.made += 1


@pytest.fixture(autouse=True)
def _count_from_zero() -> None:
    Client.made = 0


async def test_the_same_key_on_the_same_loop_reuses_the_client() -> None:
    cache: ClientCache[Client] = ClientCache()
    key: ClientKey = ("openai", "sk-1", "http://127.0.0.1:1/v1")
    first = cache.get(key, Client)
    assert cache.get(key, Client) is first
    assert Client.made == 1
    assert len(cache) == 1


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(("groq", "sk-1", "http://127.0.0.1:1/v1"), id="other-provider"),
        pytest.param(("openai", "sk-2", "http://127.0.0.1:1/v1"), id="rotated-key"),
        pytest.param(("openai", "sk-1", "http://127.0.0.1:2/v1"), id="other-base-url"),
        pytest.param(("openai", None, "http://127.0.0.1:1/v1"), id="no-key"),
    ],
)
async def test_any_difference_in_the_key_makes_a_new_client(other: ClientKey) -> None:
    cache: ClientCache[Client] = ClientCache()
    first = cache.get(("openai", "sk-1", "http://127.0.0.1:1/v1"), Client)
    assert cache.get(other, Client) is not first
    assert len(cache) == 2


def test_each_event_loop_gets_its_own_client() -> None:
    # An SDK client's connection pool belongs to the loop that opened it.
    cache: ClientCache[Client] = ClientCache()
    key: ClientKey = ("openai", "sk-1", None)

    async def fetch() -> Client:
        return cache.get(key, Client)

    loop_a, loop_b = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        a1 = loop_a.run_until_complete(fetch())
        a2 = loop_a.run_until_complete(fetch())
        b1 = loop_b.run_until_complete(fetch())
    finally:
        loop_a.close()
        loop_b.close()
    assert a1 is a2
    assert b1 is not a1
    assert Client.made == 2


def test_clients_are_dropped_with_their_loop() -> None:
    cache: ClientCache[Client] = ClientCache()

    async def fetch() -> None:
        cache.get(("openai", "sk-1", None), Client)

    asyncio.run(fetch())
    gc.collect()
    assert len(cache) == 0


def test_outside_an_event_loop_there_is_no_client() -> None:
    cache: ClientCache[Client] = ClientCache()
    with pytest.raises(RuntimeError):
        cache.get(("openai", "sk-1", None), Client)
    assert Client.made == 0
