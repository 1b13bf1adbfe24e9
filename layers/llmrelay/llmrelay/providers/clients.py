"""One SDK client per (provider, key, base URL) and event loop, reused across warm calls.

SDK clients hold an HTTP connection pool bound to the loop that first used it; the Lambda
runtime keeps one loop for the life of the process, so in production every warm invocation
reuses the same client and its open connections. A new loop (as in tests) gets new clients.

:func:`forget_all_clients` drops every cached client of every cache at once: an environment
restored from a SnapStart snapshot must not reuse a connection from before the snapshot
(its socket did not survive), nor share one client's state with its sibling restores.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["ClientCache", "forget_all_clients", "on_forget_all"]

T = TypeVar("T")
ClientKey = tuple[str, str | None, str | None]
_caches: weakref.WeakSet[ClientCache[object]] = weakref.WeakSet()
_forgetters: list[Callable[[], None]] = []


class ClientCache(Generic[T]):
    def __init__(self) -> None:
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[ClientKey, T]] = (
            weakref.WeakKeyDictionary()
        )
        _caches.add(self)  # type: ignore[arg-type]  # any T: only clear() is called

    def get(self, key: ClientKey, factory: Callable[[], T]) -> T:
        """The client for ``key`` on the running loop, made by ``factory`` the first time."""
        clients = self._by_loop.setdefault(asyncio.get_running_loop(), {})
        client = clients.get(key)
        if client is None:
            client = clients[key] = factory()
        return client

    def forget(self, key: ClientKey) -> T | None:
        """Drop the running loop's client for ``key``; the client, if there was one."""
        return self._by_loop.get(asyncio.get_running_loop(), {}).pop(key, None)

    def clear(self) -> None:
        """Drop every client, on every loop (their connections with them)."""
        self._by_loop.clear()

    def __len__(self) -> int:
        return sum(len(clients) for clients in self._by_loop.values())


def on_forget_all(forget: Callable[[], None]) -> None:
    """Have :func:`forget_all_clients` call ``forget`` too: for clients kept elsewhere than in
    a :class:`ClientCache` (Bedrock's boto3 clients, shared across threads)."""
    if forget not in _forgetters:
        _forgetters.append(forget)


def forget_all_clients() -> None:
    """Clear every :class:`ClientCache` of the process, and every other client cache that
    asked (:func:`on_forget_all`)."""
    for cache in list(_caches):
        cache.clear()
    for forget in list(_forgetters):
        forget()
