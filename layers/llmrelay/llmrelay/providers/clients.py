"""One SDK client per (provider, key, base URL) and event loop, reused across warm calls.

SDK clients hold an HTTP connection pool bound to the loop that first used it; the Lambda
runtime keeps one loop for the life of the process, so in production every warm invocation
reuses the same client and its open connections. A new loop (as in tests) gets new clients.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["ClientCache"]

T = TypeVar("T")
ClientKey = tuple[str, str | None, str | None]


class ClientCache(Generic[T]):
    def __init__(self) -> None:
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[ClientKey, T]] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, key: ClientKey, factory: Callable[[], T]) -> T:
        """The client for ``key`` on the running loop, made by ``factory`` the first time."""
        clients = self._by_loop.setdefault(asyncio.get_running_loop(), {})
        client = clients.get(key)
        if client is None:
            client = clients[key] = factory()
        return client

    def __len__(self) -> int:
        return sum(len(clients) for clients in self._by_loop.values())
