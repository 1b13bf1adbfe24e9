"""The pure half of resilience: which failures are worth another try, how long to wait
first, and which are worth another model. No I/O, no clock: every input is an argument.

- Retried: failures marked ``retryable`` (429, 5xx/529/overloaded, dropped connections,
  cut or garbled streams, timeouts), except :class:`~llmrelay.errors.DeadlineExceeded`:
  when time is up, another try cannot fit.
- The wait is exponential backoff with full jitter, ``uniform(0, min(cap, base * 2**n))``,
  unless the upstream said how long (``retry_after``): that is honoured as given, up to
  ``max_retry_after_s``. A longer hint means the model is out for longer than one request
  should wait, so it is not retried at all (its fallback, or the client, takes over; the
  error keeps its ``retry_after`` for the client).
- Fallen back from: what another model may well survive (rate limits, timeouts, an
  unavailable upstream, a rejected or missing key); never a request that is itself wrong
  (invalid, refused as bad, content filtered) or the deadline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from llmrelay.config import Settings
from llmrelay.errors import (
    AuthenticationFailed,
    DeadlineExceeded,
    LLMRelayError,
    MissingKey,
    RateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)

__all__ = ["Resilience", "RetryPolicy", "Timeouts", "falls_back", "is_retryable"]

# 2**30 backoff units is beyond any sane cap; it also keeps 2**n a small float.
_MAX_EXPONENT: Final = 30
_FALLBACK_WORTHY: Final = (
    AuthenticationFailed,
    MissingKey,
    RateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)


def is_retryable(error: LLMRelayError) -> bool:
    """Whether the same call may succeed if made again shortly."""
    return error.retryable and not isinstance(error, DeadlineExceeded)


def falls_back(error: LLMRelayError) -> bool:
    """Whether another model is worth trying after ``error``."""
    return isinstance(error, _FALLBACK_WORTHY)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``retries`` per model after its first attempt; backoff ``base_s`` doubling up to
    ``max_backoff_s``; ``retry_after`` hints honoured up to ``max_retry_after_s``."""

    retries: int = 2
    base_s: float = 0.25
    max_backoff_s: float = 4.0
    max_retry_after_s: float = 10.0

    def backoff(self, retry: int, jitter: float) -> float:
        """Full jitter: ``jitter`` (in ``[0, 1)``) of the capped exponential step."""
        step = self.base_s * 2.0 ** min(retry, _MAX_EXPONENT)
        return jitter * min(self.max_backoff_s, step)

    def wait_before_retry(self, error: LLMRelayError, retry: int, jitter: float) -> float | None:
        """Seconds to wait before retry number ``retry`` (0-based) after ``error``;
        ``None`` when this model should not be tried again."""
        if retry >= self.retries or not is_retryable(error):
            return None
        if error.retry_after is None:
            return self.backoff(retry, jitter)
        if error.retry_after > self.max_retry_after_s:
            return None
        return error.retry_after


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Per-attempt limits on a stream, in seconds (``None``: no limit).

    ``first_token_s``: from opening the attempt to its first item (text, or the finish
    of an empty answer). ``idle_s``: between two items after that. ``total_s``: the whole
    answer, retries and fallbacks included.
    """

    first_token_s: float | None = 20.0
    idle_s: float | None = 30.0
    total_s: float | None = None


def _seconds(millis: int) -> float | None:
    return millis / 1000 if millis > 0 else None


@dataclass(frozen=True, slots=True)
class Resilience:
    """Everything :func:`~llmrelay.resilience.stream_resilient` is configured with:
    retries, timeouts, and the fallback chains (``{"provider/model": (...), "*": (...)}``)."""

    retry: RetryPolicy = RetryPolicy()
    timeouts: Timeouts = Timeouts()
    fallbacks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> Resilience:
        """The ``LLMRELAY_RETRY_*``, ``LLMRELAY_*_TIMEOUT_MS`` and ``LLMRELAY_FALLBACKS``
        settings (a timeout of 0 is no timeout)."""
        retry = RetryPolicy(
            retries=settings.retry_attempts,
            base_s=settings.retry_base_ms / 1000,
            max_backoff_s=settings.retry_max_backoff_ms / 1000,
            max_retry_after_s=settings.retry_after_max_ms / 1000,
        )
        timeouts = Timeouts(
            first_token_s=_seconds(settings.first_token_timeout_ms),
            idle_s=_seconds(settings.idle_timeout_ms),
            total_s=_seconds(settings.total_timeout_ms),
        )
        return cls(retry, timeouts, settings.fallbacks)
