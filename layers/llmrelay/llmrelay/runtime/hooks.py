"""Where SnapStart hooks are registered: Lambda's own ``snapshot_restore_py``.

Lambda bundles ``snapshot_restore_py`` in its Python 3.12+ runtimes (it is also on PyPI as
``snapshot-restore-py``), and function code registers its hooks with it:
``register_before_snapshot(func, *args, **kwargs)`` and ``register_after_restore(...)``, each
usable as a decorator. The runtime loop reads them back with ``get_before_snapshot()`` and
``get_after_restore()``, lists of ``(func, args, kwargs)``.

When that module cannot be imported (an interpreter without it, say), :func:`registry`
falls back to :class:`FallbackRegistry`, a registry of our own with the same four functions,
so that llmrelay's own hooks still run. Code that imports ``snapshot_restore_py`` itself then
fails at import, as it would under AWS's own runtime client.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache
from typing import Any, Protocol

__all__ = [
    "FallbackRegistry",
    "Hook",
    "Registry",
    "register_after_restore",
    "register_before_snapshot",
    "registry",
]

Hook = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class Registry(Protocol):
    """The API of ``snapshot_restore_py``."""

    def register_before_snapshot(
        self, func: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Callable[..., Any]: ...

    def register_after_restore(
        self, func: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Callable[..., Any]: ...

    def get_before_snapshot(self) -> list[Hook]: ...

    def get_after_restore(self) -> list[Hook]: ...


class FallbackRegistry:
    """``snapshot_restore_py``'s API, for when that module is not importable."""

    def __init__(self) -> None:
        self._before: list[Hook] = []
        self._after: list[Hook] = []

    def register_before_snapshot(
        self, func: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Callable[..., Any]:
        self._before.append((func, args, kwargs))
        return func

    def register_after_restore(
        self, func: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Callable[..., Any]:
        self._after.append((func, args, kwargs))
        return func

    def get_before_snapshot(self) -> list[Hook]:
        return self._before

    def get_after_restore(self) -> list[Hook]:
        return self._after


@cache
def registry() -> Registry:
    """``snapshot_restore_py`` when importable, else this process's :class:`FallbackRegistry`
    (looked up once; ``registry.cache_clear()`` looks again)."""
    try:
        module: Registry = importlib.import_module("snapshot_restore_py")
    except ImportError:
        return FallbackRegistry()
    return module


def register_before_snapshot(
    func: Callable[..., Any], *args: Any, **kwargs: Any
) -> Callable[..., Any]:
    """Run ``func(*args, **kwargs)`` before the snapshot is taken (a decorator too)."""
    return registry().register_before_snapshot(func, *args, **kwargs)


def register_after_restore(
    func: Callable[..., Any], *args: Any, **kwargs: Any
) -> Callable[..., Any]:
    """Run ``func(*args, **kwargs)`` in each environment restored from the snapshot."""
    return registry().register_after_restore(func, *args, **kwargs)
