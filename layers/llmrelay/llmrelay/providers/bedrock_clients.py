"""Bedrock's boto3 clients: one per target (region, endpoint, timeouts), shared by every
thread and warm invocation (boto3 clients are thread-safe), all on one botocore data loader.

A client is made on first use, in the calling thread (never the event loop's): importing
boto3 and parsing the ``bedrock-runtime`` service model, its endpoint rules and partitions
cost about 300 ms the first time; the shared loader keeps that parsed JSON (read-only), so a
later client costs about 60 ms. Sessions, which resolve and cache credentials, are never
shared. :func:`clear_clients` runs with :func:`~llmrelay.providers.clients.forget_all_clients`
(after a SnapStart restore: no client, credential or pooled socket from before it).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

from llmrelay.config import get_settings
from llmrelay.errors import ConfigurationError
from llmrelay.providers.base import ProviderCall
from llmrelay.providers.clients import on_forget_all

__all__ = [
    "Target",
    "clear_clients",
    "client_config",
    "client_for",
    "drop_client",
    "new_session",
    "seed_client",
    "target_for",
]


@dataclass(frozen=True, slots=True)
class Target:
    """Where and how a client connects: one client per distinct target."""

    region: str
    endpoint_url: str | None
    connect_timeout_s: float
    read_timeout_s: float
    # boto3 reads these itself; they are part of the key so that a change makes a new client.
    environment: tuple[str | None, ...] = ()


_clients: dict[Target, Any] = {}
_clients_lock = threading.Lock()
_loader: Any = None  # botocore's data loader: the parsed service model, shared by every client


def new_session() -> Any:
    """A boto3 session on the shared data loader. Sessions hold credentials, so each client
    gets its own; the loader holds only botocore's read-only JSON, parsed once (about 300 ms
    for the first client, 60 ms for any later one)."""
    global _loader
    import boto3  # type: ignore[import-untyped]  # first use only, and off the event loop
    import botocore.loaders  # type: ignore[import-untyped]
    import botocore.session  # type: ignore[import-untyped]

    if _loader is None:
        _loader = botocore.loaders.create_loader()
    core = botocore.session.Session()
    core.register_component("data_loader", _loader)
    return boto3.session.Session(botocore_session=core)


def client_config(target: Target) -> Any:
    from botocore.config import Config  # type: ignore[import-untyped]

    return Config(
        connect_timeout=target.connect_timeout_s,
        read_timeout=target.read_timeout_s,
        retries={"total_max_attempts": 1, "mode": "standard"},
        user_agent_extra="llmrelay",
    )


def _new_client(target: Target) -> Any:
    return new_session().client(
        "bedrock-runtime",
        region_name=target.region,
        endpoint_url=target.endpoint_url,
        config=client_config(target),
    )


def client_for(target: Target) -> Any:
    """The shared client for ``target`` (made on first use: call it off the event loop)."""
    with _clients_lock:
        client = _clients.get(target)
        if client is None:
            client = _clients[target] = _new_client(target)
        return client


def clear_clients() -> None:
    """Forget every client: they hold credentials and pooled connections, which must not
    outlive a SnapStart restore (:func:`~llmrelay.providers.clients.forget_all_clients`
    calls this), nor a test's fake."""
    with _clients_lock:
        _clients.clear()


def seed_client(target: Target, client: Any) -> None:
    """Use ``client`` for ``target`` (the warm-up's canned client)."""
    with _clients_lock:
        _clients[target] = client


def drop_client(target: Target) -> None:
    with _clients_lock:
        _clients.pop(target, None)


on_forget_all(clear_clients)


def target_for(call: ProviderCall) -> Target:
    settings = get_settings()
    region = (
        settings.environ.get("LLMRELAY_BEDROCK_REGION", "").strip()
        or os.environ.get("AWS_REGION", "").strip()
        or os.environ.get("AWS_DEFAULT_REGION", "").strip()
    )
    if not region:
        raise ConfigurationError(
            "provider 'bedrock' needs a region: AWS_REGION or LLMRELAY_BEDROCK_REGION",
            provider=call.provider,
        )
    # The access key id, not the secret: credentials that change (tests; never a warm Lambda)
    # make a new client, which resolves them again.
    names = (
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
        "AWS_ENDPOINT_URL",
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
    )
    return Target(
        region=region,
        endpoint_url=call.base_url,
        connect_timeout_s=settings.upstream_connect_timeout_s,
        read_timeout_s=settings.upstream_read_timeout_s,
        environment=tuple(os.environ.get(name) for name in names),
    )
