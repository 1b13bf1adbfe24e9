"""``stream_resilient``: :func:`~llmrelay.chat.stream_chat`, retried and fallen back for as
long as that is safe.

Until an answer's first item has been passed on, a failure is not final: a retryable one
is retried on the same model after a backoff (see :mod:`.policy`), and one that another
model may survive moves on to the next model of the fallback chain (see :mod:`.chain`).
From the first item on, the answer is committed: a later failure is raised after the text
already passed on (the gateway turns it into an in-band error event).

Time: each attempt has a first-token and an idle timeout (:func:`.timed.timed`), the
whole answer an optional total timeout. Retries and fallbacks are budgeted against the
deadline (given, else the one the gateway's guard publishes) and the total: no backoff is
slept that would end past it and no attempt is started after it; the guard itself ends the
stream at the deadline.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, replace
from functools import partial

from llmrelay.chat import route, stream_chat
from llmrelay.config import Settings, get_settings
from llmrelay.errors import LLMRelayError, UpstreamUnavailable
from llmrelay.events import Finish, Routed, StreamEvent
from llmrelay.models import ChatRequest
from llmrelay.resilience.chain import model_chain
from llmrelay.resilience.deadline import current_deadline
from llmrelay.resilience.policy import Resilience, falls_back
from llmrelay.resilience.timed import timed
from llmrelay.secrets import SecretStore

__all__ = ["Opener", "ResilientEvent", "Sleep", "stream_resilient"]

ResilientEvent = Routed | StreamEvent
Opener = Callable[[ChatRequest], AsyncIterator[StreamEvent]]
Sleep = Callable[[float], Awaitable[None]]


def _earliest(*times: float | None) -> float | None:
    return min((t for t in times if t is not None), default=None)


@dataclass(frozen=True, slots=True)
class _Opened:
    """An attempt whose first item has arrived: from here on, the answer."""

    model_id: str
    attempt: int
    first: StreamEvent
    rest: AsyncGenerator[StreamEvent, None]


@dataclass(frozen=True, slots=True)
class _Attempts:
    """What every attempt at one answer shares."""

    request: ChatRequest
    resilience: Resilience
    opener: Opener
    sleep: Sleep
    jitter: Callable[[], float]
    clock: Callable[[], float]
    total_end: float | None  # the total timeout, on ``clock``
    budget_end: float | None  # no retry or fallback past this (total timeout or deadline)

    def _affords(self, wait_s: float = 0.0) -> bool:
        return self.budget_end is None or self.clock() + wait_s < self.budget_end

    async def _open(self, model_id: str, attempt: int) -> _Opened:
        timeouts = self.resilience.timeouts
        events = timed(
            self.opener(self.request.model_copy(update={"model": model_id})),
            model_id=model_id,
            first_s=timeouts.first_token_s,
            idle_s=timeouts.idle_s,
            end_at=self.total_end,
        )
        first = await anext(events, None)
        if first is None:
            message = f"{model_id} ended its stream without an answer"
            raise UpstreamUnavailable(message, provider=model_id.partition("/")[0])
        return _Opened(model_id, attempt, first, events)

    async def first_answer(self, models: Sequence[str]) -> _Opened:
        """The first attempt, over ``models`` in order, to produce an item; else the last
        error."""
        attempt = 0
        error: LLMRelayError | None = None
        for model_id in models:
            if error is not None and not (falls_back(error) and self._affords()):
                raise error
            for retry in itertools.count():
                attempt += 1
                try:
                    return await self._open(model_id, attempt)
                except LLMRelayError as exc:
                    error = exc
                    wait = self.resilience.retry.wait_before_retry(exc, retry, self.jitter())
                if wait is None or not self._affords(wait):
                    break
                await self.sleep(wait)
        assert error is not None, "the chain always holds the primary model"
        raise error


def _stamped(event: StreamEvent, model_id: str) -> StreamEvent:
    return replace(event, model=model_id) if isinstance(event, Finish) else event


def _bounded(request: ChatRequest, ceiling: int) -> ChatRequest:
    """The request with ``max_tokens`` set: an answer is never left unbounded (and
    Anthropic requires one anyway)."""
    if request.max_tokens is not None:
        return request
    return request.model_copy(update={"max_tokens": ceiling})


async def stream_resilient(
    request: ChatRequest,
    *,
    settings: Settings | None = None,
    secrets: SecretStore | None = None,
    resilience: Resilience | None = None,
    deadline: float | None = None,
    opener: Opener | None = None,
    sleep: Sleep = asyncio.sleep,
    jitter: Callable[[], float] = random.random,
) -> AsyncGenerator[ResilientEvent, None]:
    """Stream one answer: ``Routed`` (the model that answers), its block events, then
    exactly one ``Finish`` whose ``model`` is the answering model.

    Failures raise :class:`~llmrelay.errors.LLMRelayError`: before any item, the last
    error once retries and fallbacks are spent; after, the error that cut the answer.
    ``resilience`` defaults to the settings' (``LLMRELAY_RETRY_*``, ``*_TIMEOUT_MS``,
    ``LLMRELAY_FALLBACKS``). ``deadline`` is on the running loop's clock. ``opener``
    makes one single-model attempt (default :func:`~llmrelay.chat.stream_chat` with
    ``settings`` and ``secrets``); ``sleep`` and ``jitter`` (uniform in ``[0, 1)``) pace
    the retries. A request without ``max_tokens`` is sent with the ceiling
    (``LLMRELAY_MAX_TOKENS_CEILING``).
    """
    if settings is None:
        settings = get_settings()
    plan = resilience or Resilience.from_settings(settings)
    request = _bounded(request, settings.max_tokens_ceiling)
    models = model_chain(route(request, settings).model_id, plan.fallbacks)
    clock = asyncio.get_running_loop().time
    total_s = plan.timeouts.total_s
    total_end = None if total_s is None else clock() + total_s
    attempts = _Attempts(
        request,
        plan,
        opener or partial(stream_chat, settings=settings, secrets=secrets),
        sleep,
        jitter,
        clock,
        total_end,
        _earliest(total_end, current_deadline() if deadline is None else deadline),
    )
    answer = await attempts.first_answer(models)
    async with aclosing(answer.rest):
        yield Routed(answer.model_id, answer.attempt)
        yield _stamped(answer.first, answer.model_id)
        async for event in answer.rest:
            yield _stamped(event, answer.model_id)
