"""The gateway's settings, read from the environment by :func:`llmrelay.gateway.build_app`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from llmrelay.config import env_int

__all__ = ["GatewayOptions"]

# The function URL refuses request payloads over 6 MB before Lambda runs; the same cap here
# keeps `llmrelay dev` and direct invocations honest.
_SIX_MB = 6 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class GatewayOptions:
    """``deadline_margin_ms``: how long before the function's deadline a stream is ended
    with ``deadline_exceeded`` (time left to send the last event and close the response).
    ``ping_interval_ms``: a ``: ping`` after this much upstream silence (0: never).
    ``max_body_bytes``: larger request bodies get 413. ``version``: shown by ``/health``
    (default: the installed package's version)."""

    deadline_margin_ms: int = 300
    ping_interval_ms: int = 10_000
    max_body_bytes: int = _SIX_MB
    version: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GatewayOptions:
        env = os.environ if env is None else env
        return cls(
            deadline_margin_ms=env_int(env, "LLMRELAY_DEADLINE_MARGIN_MS", 300, minimum=0),
            ping_interval_ms=env_int(env, "LLMRELAY_PING_INTERVAL_MS", 10_000, minimum=0),
            max_body_bytes=env_int(env, "LLMRELAY_MAX_BODY_BYTES", _SIX_MB, minimum=0),
            version=env.get("LLMRELAY_VERSION", "").strip() or None,
        )
