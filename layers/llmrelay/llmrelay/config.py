"""Settings read from the environment once, as one frozen object."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Final

from llmrelay.errors import ConfigurationError

__all__ = ["Settings", "env_int", "get_settings"]

_ECHO_MODEL = "echo/echo"


def env_int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    """The whole number in ``name`` (``default`` when unset or blank), at least ``minimum``."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from exc
    # A limit of 0 would reject every request with a message blaming the client.
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from exc
    if not 0 <= value < float("inf"):  # also rejects nan
        raise ConfigurationError(f"{name} must be a finite number >= 0, got {raw!r}")
    return value


_UNSET: Final = object()


def _json(env: Mapping[str, str], name: str) -> object:
    """The JSON value in ``name``, or ``_UNSET`` when it is unset or blank (a JSON ``null``
    is a value, and is refused by the caller's shape check)."""
    raw = env.get(name, "").strip()
    if not raw:
        return _UNSET
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} is not valid JSON: {exc}") from exc


def _contexts(env: Mapping[str, str]) -> Mapping[str, str]:
    parsed = _json(env, "LLMRELAY_CONTEXTS")
    if parsed is _UNSET:
        return {}
    if not isinstance(parsed, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in parsed.items()
    ):
        raise ConfigurationError('LLMRELAY_CONTEXTS must be a JSON object {"id": "system prompt"}')
    return dict(parsed)


def _fallbacks(env: Mapping[str, str]) -> Mapping[str, tuple[str, ...]]:
    """``LLMRELAY_FALLBACKS``: ``{"provider/model": ["provider/model", ...], "*": [...]}``
    (model strings are checked against the registry when first used)."""
    parsed = _json(env, "LLMRELAY_FALLBACKS")
    if parsed is _UNSET:
        return {}
    if not isinstance(parsed, dict) or not all(
        isinstance(chain, list) and all(isinstance(model, str) for model in chain)
        for chain in parsed.values()
    ):
        raise ConfigurationError(
            'LLMRELAY_FALLBACKS must be a JSON object {"provider/model": ["provider/model"]}'
        )
    return {key.strip(): tuple(model.strip() for model in chain) for key, chain in parsed.items()}


@dataclass(frozen=True)
class Settings:
    """Everything llmrelay reads from its environment."""

    secret_id: str | None = None
    default_model: str = _ECHO_MODEL
    echo_delay_ms: float = 0.0
    max_content_chars: int = 10_000
    max_messages: int = 100
    max_tokens_ceiling: int = 4096
    # Beyond text: tools per request, one tool's JSON Schema, one image or file (decoded bytes).
    max_tools: int = 128
    max_schema_bytes: int = 65_536
    max_image_bytes: int = 5_242_880
    max_file_bytes: int = 5_242_880
    secret_max_age_s: int = 300
    # Backstops in the SDK clients: connecting, and the longest silence between two reads.
    upstream_connect_timeout_s: float = 5.0
    upstream_read_timeout_s: float = 60.0
    # Resilience (llmrelay.resilience): retries per model, backoff, the longest retry-after
    # honoured, the stream timeouts (0: none) and the fallback chains.
    retry_attempts: int = 2
    retry_base_ms: int = 250
    retry_max_backoff_ms: int = 4000
    retry_after_max_ms: int = 10_000
    first_token_timeout_ms: int = 20_000
    idle_timeout_ms: int = 30_000
    total_timeout_ms: int = 0
    fallbacks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    contexts: Mapping[str, str] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        secret_id = env.get("LLMRELAY_SECRET_ID", "").strip() or None
        default_model = env.get("LLMRELAY_DEFAULT_MODEL", "").strip()
        return cls(
            secret_id=secret_id,
            # With no secret there are no keys: only the offline echo provider can answer.
            default_model=default_model or _ECHO_MODEL,
            echo_delay_ms=_float(env, "LLMRELAY_ECHO_DELAY_MS", 0.0),
            max_content_chars=env_int(env, "LLMRELAY_MAX_CONTENT_CHARS", 10_000),
            max_messages=env_int(env, "LLMRELAY_MAX_MESSAGES", 100),
            max_tokens_ceiling=env_int(env, "LLMRELAY_MAX_TOKENS_CEILING", 4096),
            max_tools=env_int(env, "LLMRELAY_MAX_TOOLS", 128),
            max_schema_bytes=env_int(env, "LLMRELAY_MAX_SCHEMA_BYTES", 65_536),
            max_image_bytes=env_int(env, "LLMRELAY_MAX_IMAGE_BYTES", 5_242_880),
            max_file_bytes=env_int(env, "LLMRELAY_MAX_FILE_BYTES", 5_242_880),
            secret_max_age_s=env_int(env, "LLMRELAY_SECRET_MAX_AGE_S", 300, minimum=0),
            upstream_connect_timeout_s=_float(env, "LLMRELAY_UPSTREAM_CONNECT_TIMEOUT_S", 5.0),
            upstream_read_timeout_s=_float(env, "LLMRELAY_UPSTREAM_READ_TIMEOUT_S", 60.0),
            retry_attempts=env_int(env, "LLMRELAY_RETRY_ATTEMPTS", 2, minimum=0),
            retry_base_ms=env_int(env, "LLMRELAY_RETRY_BASE_MS", 250, minimum=0),
            retry_max_backoff_ms=env_int(env, "LLMRELAY_RETRY_MAX_BACKOFF_MS", 4000, minimum=0),
            retry_after_max_ms=env_int(env, "LLMRELAY_RETRY_AFTER_MAX_MS", 10_000, minimum=0),
            first_token_timeout_ms=env_int(
                env, "LLMRELAY_FIRST_TOKEN_TIMEOUT_MS", 20_000, minimum=0
            ),
            idle_timeout_ms=env_int(env, "LLMRELAY_IDLE_TIMEOUT_MS", 30_000, minimum=0),
            total_timeout_ms=env_int(env, "LLMRELAY_TOTAL_TIMEOUT_MS", 0, minimum=0),
            fallbacks=_fallbacks(env),
            contexts=_contexts(env),
            environ=env,
        )

    @property
    def listed_models(self) -> tuple[str, ...]:
        """``LLMRELAY_MODELS``: the models ``/v1/models`` lists (comma-separated)."""
        raw = self.environ.get("LLMRELAY_MODELS", "")
        return tuple(name.strip() for name in raw.split(",") if name.strip())

    def base_url(self, provider: str) -> str | None:
        """``LLMRELAY_<PROVIDER>_BASE_URL``, passed to the SDK unchanged."""
        value = self.environ.get(f"LLMRELAY_{provider.upper()}_BASE_URL", "").strip()
        return value or None


@cache
def get_settings() -> Settings:
    """The process-wide settings (read once; ``get_settings.cache_clear()`` rereads)."""
    return Settings.from_env()
