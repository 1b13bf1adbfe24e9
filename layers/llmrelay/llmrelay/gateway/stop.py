"""``StopSignal``: "end this answer now", from whoever learns it (a durable stream's writer
sees the stop flag in its store) to the guard that ends the stream."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["StopSignal"]


class StopSignal:
    """Set at most once; whoever waits registers :meth:`on_set` to be woken."""

    def __init__(self) -> None:
        self._set = False
        self._wakers: list[Callable[[], None]] = []

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        for wake in self._wakers:
            wake()

    def on_set(self, wake: Callable[[], None]) -> None:
        self._wakers.append(wake)
