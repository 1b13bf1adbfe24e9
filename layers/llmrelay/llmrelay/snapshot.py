"""llmrelay's own SnapStart hooks: warm before the snapshot, refresh after each restore.

With SnapStart on, Lambda initialises the function once, when a version is published, and
every cold start resumes from that snapshot. So the import that is most of a cold start is
paid there instead, and :func:`before_snapshot` pays the rest that needs neither network nor
secrets: for each provider this deployment is configured to use (its default model, its
fallback chains, ``LLMRELAY_MODELS``), the provider module, its SDK and one canned answer
through them (:mod:`llmrelay.providers.warmup`). Providers named only by requests still
import on first use.

Every environment restored from one snapshot starts with the same memory, so
:func:`after_restore` drops what must not be shared or is stale: cached secrets (and
Powertools' boto3 client, which caches credentials), every SDK client with its pooled
connections (sockets do not survive a restore), and the state of the random generators
(``random``'s, which the retry jitter uses, and OpenSSL's pool, which gets fresh entropy).

:func:`register_snapshot_hooks` registers both with Lambda's ``snapshot_restore_py`` when
the runtime says the init is SnapStart's, and does nothing otherwise.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Mapping

from llmrelay.config import Settings, get_settings
from llmrelay.errors import LLMRelayError
from llmrelay.gateway.logs import log_exception, log_record
from llmrelay.providers.clients import forget_all_clients
from llmrelay.providers.registry import ProviderKind, resolve
from llmrelay.runtime.hooks import register_after_restore, register_before_snapshot
from llmrelay.runtime.snapstart import enabled as snap_start_enabled
from llmrelay.secrets import clear_secret_caches

__all__ = [
    "after_restore",
    "before_snapshot",
    "register_snapshot_hooks",
    "snapshot_providers",
]


def _configured_models(settings: Settings) -> list[str]:
    models = [settings.default_model, *settings.listed_models]
    for model, chain in settings.fallbacks.items():
        models += [model, *chain] if model != "*" else list(chain)
    return models


def snapshot_providers(settings: Settings) -> tuple[ProviderKind, ...]:
    """The provider kinds the configuration names, in order, each once (model strings that
    do not resolve are left to fail when a request uses them)."""
    kinds: dict[ProviderKind, None] = {}
    for model in _configured_models(settings):
        try:
            kinds[resolve(model)[0].kind] = None
        except LLMRelayError:
            continue
    return tuple(kinds)


def _warm_secrets_path() -> None:
    """Import what reading the secret will need (Powertools' parameters, botocore). No
    client is made: making one resolves AWS credentials, which must not be in a snapshot."""
    import aws_lambda_powertools.utilities.parameters  # noqa: F401
    import botocore.config  # type: ignore[import-untyped]  # noqa: F401


async def before_snapshot(settings: Settings | None = None) -> None:
    """Import and warm the configured providers (see the module). Warming is best effort:
    a provider that fails to warm is logged and left to warm on first use."""
    from llmrelay.providers.warmup import warm_provider

    settings = settings or get_settings()
    began = time.perf_counter()
    kinds = snapshot_providers(settings)
    warmed: list[str] = []
    for kind in kinds:
        try:
            await warm_provider(kind)
        except Exception as exc:  # never fail the publication over an optimisation
            log_exception("snapshot warm-up failed", exc, provider=kind)
        else:
            warmed.append(kind)
    if settings.secret_id is not None:
        _warm_secrets_path()
    ms = round((time.perf_counter() - began) * 1000)
    log_record("INFO", "snapshot warm-up", providers=warmed, duration_ms=ms)


def after_restore() -> None:
    """Forget cached secrets and clients, reseed the random generators (see the module)."""
    clear_secret_caches()
    forget_all_clients()
    random.seed()  # from os.urandom: the kernel's pool is fresh in each restored VM
    import ssl

    ssl.RAND_add(os.urandom(32), 32.0)


def register_snapshot_hooks(environ: Mapping[str, str] | None = None) -> bool:
    """Register :func:`before_snapshot` and :func:`after_restore` when this init is
    SnapStart's (``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``); ``True`` when it is."""
    if not snap_start_enabled(os.environ if environ is None else environ):
        return False
    register_before_snapshot(before_snapshot)
    register_after_restore(after_restore)
    return True
