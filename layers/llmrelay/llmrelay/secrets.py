"""Provider keys from one AWS Secrets Manager secret (a JSON object), read with
Powertools Parameters, cached across warm invocations and refetched on demand.

boto3 honours ``AWS_ENDPOINT_URL_SECRETS_MANAGER``, so a moto server can stand in for AWS.

The fetch never blocks the event loop and never waits long: it runs in a daemon thread of
its own (one at a time per secret, shared by every request that needs it), with boto3
connect and read timeouts and few attempts, and a request waits for it at most
``LLMRELAY_SECRET_TIMEOUT_MS`` (3000), less when its deadline is nearer. Code on the event
loop first awaits :func:`load_secret`, then reads values with the synchronous
:meth:`SecretStore.get`, which on an event loop only ever answers from memory. A cached
secret past its ``max_age`` keeps serving while it is refetched in the background, and
while that refetch fails (a Secrets Manager outage does not take working keys away).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any, Protocol

from llmrelay.errors import MissingKey
from llmrelay.redact import register_secret

__all__ = [
    "SecretStore",
    "SecretsManagerStore",
    "StaticSecrets",
    "clear_secret_caches",
    "load_secret",
    "secret_store_for",
]

# Secrets Manager answers in tens of milliseconds; these bound a stalled endpoint (a VPC
# without a route to it, typically), well inside any request's deadline.
_CONNECT_TIMEOUT_S = 1.0
_READ_TIMEOUT_S = 2.0
_ATTEMPTS = 2  # boto3 "total_max_attempts": the first try and one retry
_DEFAULT_WAIT_MS = 3000

Values = dict[str, str]


class SecretStore(Protocol):
    def get(self, name: str) -> str | None:
        """The value of ``name`` in the secret, or ``None``."""
        ...

    def refresh(self) -> bool:
        """Fetch the secret again now; ``True`` when its content changed."""
        ...


class StaticSecrets:
    """An in-memory store (tests, and the no-secret default)."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self.values: dict[str, str] = dict(values or {})
        register_secret(self.values.values())

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def refresh(self) -> bool:
        return False


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _wait_s(environ: Mapping[str, str]) -> float:
    raw = environ.get("LLMRELAY_SECRET_TIMEOUT_MS", "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw) / 1000
    return _DEFAULT_WAIT_MS / 1000  # a bad value must not make the secret unreadable


def _provider() -> Any:
    # Imported here: boto3 costs cold-start time that echo-only calls never pay.
    from aws_lambda_powertools.utilities.parameters import SecretsProvider
    from botocore.config import Config  # type: ignore[import-untyped]

    retries: Any = {"total_max_attempts": _ATTEMPTS, "mode": "standard"}
    config = Config(
        connect_timeout=_CONNECT_TIMEOUT_S, read_timeout=_READ_TIMEOUT_S, retries=retries
    )
    return SecretsProvider(boto_config=config)


class SecretsManagerStore:
    """One Secrets Manager secret, cached for ``max_age`` seconds (see the module's doc)."""

    def __init__(self, secret_id: str, max_age: int = 300, *, wait_s: float | None = None) -> None:
        self.secret_id = secret_id
        self.max_age = max_age
        self.wait_s = _wait_s(os.environ) if wait_s is None else wait_s
        self._values: Values | None = None
        self._fetched_at = 0.0
        self._failure: MissingKey | None = None
        self._lock = threading.Lock()
        self._inflight: concurrent.futures.Future[Values] | None = None
        self._provider: Any = None

    # -- the fetch, in its own thread ------------------------------------------------------

    def _read(self) -> Values:
        from aws_lambda_powertools.utilities.parameters.exceptions import (
            GetParameterError,
            TransformParameterError,
        )

        if self._provider is None:
            self._provider = _provider()
        try:
            raw = self._provider.get(self.secret_id, transform="json", force_fetch=True)
        except (GetParameterError, TransformParameterError) as exc:
            # The SDK's message names the secret, never its value.
            raise MissingKey(f"could not read secret {self.secret_id!r}") from exc
        if not isinstance(raw, dict):
            raise MissingKey(f"secret {self.secret_id!r} must hold a JSON object")
        # The deployed secret starts as a template of empty strings: an empty value is
        # "not configured" (MissingKey), not a key to send and see rejected with a 401.
        values = {str(k): v for k, v in raw.items() if isinstance(v, str) and v.strip()}
        register_secret(values.values())
        return values

    def _run(self, future: concurrent.futures.Future[Values]) -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            values = self._read()
        except MissingKey as exc:
            self._failure = exc
            future.set_exception(exc)
        except Exception as exc:  # never a traceback to a client, never a hung waiter
            self._failure = MissingKey(f"could not read secret {self.secret_id!r}")
            self._failure.__cause__ = exc
            future.set_exception(self._failure)
        else:
            with self._lock:
                self._values, self._fetched_at, self._failure = values, time.monotonic(), None
            future.set_result(values)

    def _fetch(self) -> concurrent.futures.Future[Values]:
        """The fetch in flight, or a new one (one thread per secret at a time)."""
        with self._lock:
            if self._inflight is None or self._inflight.done():
                self._inflight = concurrent.futures.Future()
                name = f"llmrelay-secret-{self.secret_id[:40]}"
                threading.Thread(
                    target=self._run, args=(self._inflight,), name=name, daemon=True
                ).start()
            return self._inflight

    def _timed_out(self, wait_s: float) -> MissingKey:
        return MissingKey(f"could not read secret {self.secret_id!r} within {wait_s:.1f} s")

    # -- the cache ---------------------------------------------------------------------------

    def _fresh(self) -> bool:
        age = time.monotonic() - self._fetched_at
        return self._values is not None and age < self.max_age

    def _unavailable(self) -> MissingKey:
        return self._failure or MissingKey(f"secret {self.secret_id!r} is not loaded yet")

    async def load(self, *, force: bool = False, deadline: float | None = None) -> bool:
        """Have the secret in memory: fetched now (``force``, or nothing cached yet, waiting
        at most :attr:`wait_s` or until ``deadline``, on the running loop's clock), or
        refetched in the background when the cached copy is past ``max_age``. ``True`` when
        the content changed; :class:`MissingKey` when it cannot be read in time."""
        if not force and self._fresh():
            return False
        before = self._values
        if not force and before is not None:
            self._fetch()  # stale: keep serving it while it is read again
            return False
        loop = asyncio.get_running_loop()
        wait_s = self.wait_s if deadline is None else min(self.wait_s, deadline - loop.time())
        if wait_s <= 0:
            raise self._timed_out(0)
        waiter = asyncio.wrap_future(self._fetch())
        done, _ = await asyncio.wait({waiter}, timeout=wait_s)
        if not done:
            waiter.cancel()  # only this wait: the fetch goes on and fills the cache
            raise self._timed_out(wait_s)
        return waiter.result() != before

    def _load_blocking(self) -> None:
        try:
            self._fetch().result(timeout=self.wait_s)
        except concurrent.futures.TimeoutError:
            raise self._timed_out(self.wait_s) from None

    def get(self, name: str) -> str | None:
        """From memory on an event loop (await :meth:`load` first); elsewhere the secret is
        fetched first if need be, waiting at most :attr:`wait_s`."""
        if not self._fresh():
            if _on_event_loop():
                if self._values is None:
                    self._fetch()
                    raise self._unavailable()
                self._fetch()
            elif self._values is None or self.max_age == 0:
                self._load_blocking()
            else:
                self._fetch()
        assert self._values is not None
        return self._values.get(name)

    def refresh(self) -> bool:
        """Fetch the secret again now (off an event loop; on one, use ``load(force=True)``)."""
        if _on_event_loop():
            self._fetch()
            return False
        before = self._values
        self._load_blocking()
        return before != self._values


async def load_secret(
    store: SecretStore, *, force: bool = False, deadline: float | None = None
) -> bool:
    """Make ``store.get`` answer from memory, without blocking the event loop: the Secrets
    Manager store fetches in a thread (see :meth:`SecretsManagerStore.load`); other stores
    hold their values already. ``deadline`` defaults to the stream's (the gateway's guard
    publishes it). ``True`` when ``force`` found the content changed."""
    load = getattr(store, "load", None)
    if load is None:
        return store.refresh() if force else False
    if deadline is None:
        from llmrelay.resilience.deadline import current_deadline  # not at import: a cycle

        deadline = current_deadline()
    changed: bool = await load(force=force, deadline=deadline)
    return changed


_stores: dict[tuple[str, int], SecretsManagerStore] = {}
_EMPTY = StaticSecrets()


def secret_store_for(secret_id: str | None, max_age: int = 300) -> SecretStore:
    """The shared store for ``secret_id`` (an empty one when no secret is configured)."""
    if secret_id is None:
        return _EMPTY
    key = (secret_id, max_age)
    store = _stores.get(key)
    if store is None:
        store = _stores[key] = SecretsManagerStore(secret_id, max_age)
    return store


def clear_secret_caches() -> None:
    """Forget every shared store and Powertools' cached values and client (tests, and a
    process that changes ``AWS_ENDPOINT_URL_SECRETS_MANAGER`` or credentials)."""
    _stores.clear()
    parameters = sys.modules.get("aws_lambda_powertools.utilities.parameters")
    if parameters is not None:  # never imported: nothing cached, and no import cost here
        parameters.clear_caches()
