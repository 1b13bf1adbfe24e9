"""The gateway's durable side: the store and its settings, from the environment.

``LLMRELAY_DURABLE_TABLE`` turns durable streams and threads on (the DynamoDB table's name);
unset, the gateway streams as before and ``thread_id`` is ignored. The rest tune it:
``LLMRELAY_DURABLE_RETENTION_S`` (3600: how long a stream can be resumed),
``LLMRELAY_THREAD_RETENTION_S`` (30 days), ``LLMRELAY_DURABLE_FLUSH_MS`` (250: the batch
interval), ``LLMRELAY_DURABLE_STOP_POLL_MS`` (500: how often a generation looks for a stop),
``LLMRELAY_DURABLE_TIMEOUT_MS`` (2000: the most one store call may take).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from llmrelay.config import env_int
from llmrelay.durable.reader import ReplayPolicy
from llmrelay.durable.records import owner_digest
from llmrelay.durable.store import DurableStore
from llmrelay.durable.writer import WriterPolicy
from llmrelay.http import HttpRequest

__all__ = ["Durability", "durability_from_env", "owner_of"]


@dataclass(frozen=True, slots=True)
class Durability:
    """A store, and how streams are written to it and read back."""

    store: DurableStore
    writer: WriterPolicy = field(default_factory=WriterPolicy)
    replay: ReplayPolicy = field(default_factory=ReplayPolicy)
    call_timeout_s: float = 2.0


def owner_of(request: HttpRequest) -> str:
    """Who owns what this request makes: a digest of its caller (never the key itself)."""
    return owner_digest(request.caller)


def durability_from_env(env: Mapping[str, str] | None = None) -> Durability | None:
    """The DynamoDB-backed durability ``env`` configures, or ``None`` when it is off."""
    env = os.environ if env is None else env
    table = env.get("LLMRELAY_DURABLE_TABLE", "").strip()
    if not table:
        return None
    from llmrelay.durable.dynamodb import DynamoStore

    timeout_s = env_int(env, "LLMRELAY_DURABLE_TIMEOUT_MS", 2000) / 1000
    store = DynamoStore(
        table,
        retention_s=env_int(env, "LLMRELAY_DURABLE_RETENTION_S", 3600),
        thread_retention_s=env_int(env, "LLMRELAY_THREAD_RETENTION_S", 30 * 86400),
        call_timeout_s=timeout_s,
    )
    writer = WriterPolicy(
        flush_s=env_int(env, "LLMRELAY_DURABLE_FLUSH_MS", 250) / 1000,
        stop_poll_s=env_int(env, "LLMRELAY_DURABLE_STOP_POLL_MS", 500) / 1000,
    )
    return Durability(store, writer, call_timeout_s=timeout_s)
