"""Settings read from the environment once, as one frozen object."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from llmrelay.errors import ConfigurationError

__all__ = ["Settings", "get_settings"]

_ECHO_MODEL = "echo/echo"


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
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


def _contexts(env: Mapping[str, str]) -> Mapping[str, str]:
    raw = env.get("LLMRELAY_CONTEXTS", "").strip()
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise ConfigurationError(f"LLMRELAY_CONTEXTS is not valid JSON: {exc}") from exc
    if not isinstance(parsed, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in parsed.items()
    ):
        raise ConfigurationError('LLMRELAY_CONTEXTS must be a JSON object {"id": "system prompt"}')
    return dict(parsed)


@dataclass(frozen=True)
class Settings:
    """Everything llmrelay reads from its environment."""

    secret_id: str | None = None
    default_model: str = _ECHO_MODEL
    echo_delay_ms: float = 0.0
    max_content_chars: int = 10_000
    max_messages: int = 100
    max_tokens_ceiling: int = 4096
    secret_max_age_s: int = 300
    # Backstops in the SDK clients: connecting, and the longest silence between two reads.
    upstream_connect_timeout_s: float = 5.0
    upstream_read_timeout_s: float = 60.0
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
            max_content_chars=_int(env, "LLMRELAY_MAX_CONTENT_CHARS", 10_000),
            max_messages=_int(env, "LLMRELAY_MAX_MESSAGES", 100),
            max_tokens_ceiling=_int(env, "LLMRELAY_MAX_TOKENS_CEILING", 4096),
            secret_max_age_s=_int(env, "LLMRELAY_SECRET_MAX_AGE_S", 300, minimum=0),
            upstream_connect_timeout_s=_float(env, "LLMRELAY_UPSTREAM_CONNECT_TIMEOUT_S", 5.0),
            upstream_read_timeout_s=_float(env, "LLMRELAY_UPSTREAM_READ_TIMEOUT_S", 60.0),
            contexts=_contexts(env),
            environ=env,
        )

    def base_url(self, provider: str) -> str | None:
        """``LLMRELAY_<PROVIDER>_BASE_URL``, passed to the SDK unchanged."""
        value = self.environ.get(f"LLMRELAY_{provider.upper()}_BASE_URL", "").strip()
        return value or None


@cache
def get_settings() -> Settings:
    """The process-wide settings (read once; ``get_settings.cache_clear()`` rereads)."""
    return Settings.from_env()
