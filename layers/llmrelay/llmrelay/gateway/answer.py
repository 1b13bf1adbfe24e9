"""The steps every chat dialect's route shares once its request is validated.

:func:`start_answer` guards the provider stream (deadline, heartbeats) and *waits for its
first item* before the route answers, so a failure before any text gets a real HTTP
status in the route's own error shape; after that, the route either streams its dialect's
frames (:func:`stream_frames`) or gathers the whole answer (:func:`gather`). Either way
the guarded stream, and so the upstream, is closed when the response ends or is dropped.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass, replace

from llmrelay.chat import Route as ModelRoute
from llmrelay.errors import LLMRelayError
from llmrelay.events import Failure
from llmrelay.gateway.guard import deadline_from, guard
from llmrelay.gateway.options import GatewayOptions
from llmrelay.gateway.stop import StopSignal
from llmrelay.http import HttpRequest, InvocationContext
from llmrelay.observability.record import note_route
from llmrelay.protocols.base import StreamItem, StreamMeta
from llmrelay.protocols.batch import Answer, collect
from llmrelay.resilience.watch import AnswerStream, ModelWatch

__all__ = ["Encoder", "Started", "answer_meta", "gather", "start_answer", "stream_frames"]

Encoder = Callable[[AsyncIterator[StreamItem]], AsyncGenerator[bytes, None]]


@dataclass(frozen=True, slots=True)
class Started:
    """A guarded stream whose first item has arrived (and is not a failure); ``meta``
    names the model that answers when the stream said so before that item."""

    first: StreamItem
    rest: AsyncGenerator[StreamItem, None]
    meta: StreamMeta

    async def items(self) -> AsyncGenerator[StreamItem, None]:
        yield self.first
        async for item in self.rest:
            yield item


def answer_meta(
    request: HttpRequest, context: InvocationContext, where: ModelRoute, created: float
) -> StreamMeta:
    """The answer's id (the invocation's request id), provider, model and creation time."""
    request_id = context.aws_request_id or request.request_id or uuid.uuid4().hex
    return StreamMeta(request_id, where.spec.name, where.model_id, int(created))


async def start_answer(
    upstream: AnswerStream,
    context: InvocationContext,
    meta: StreamMeta,
    options: GatewayOptions,
    *,
    heartbeats: bool,
    stop: StopSignal | None = None,
) -> Started | Failure:
    """Guard ``upstream`` and wait for its first item: a ``Failure`` (the guarded stream
    already closed), or the :class:`Started` stream. With ``heartbeats``, upstream silence
    for ``options.ping_interval_ms`` is a ``Heartbeat`` item (which also ends the wait);
    ``stop`` ends the answer early (:func:`~llmrelay.gateway.guard.guard`)."""
    note_route(meta.provider, meta.model)  # for the invocation's logs and metrics
    ping_ms = options.ping_interval_ms
    watch = ModelWatch()  # a resilient stream says which model answers (a fallback, maybe)
    items = guard(
        watch.events(upstream),
        deadline=deadline_from(context, options.deadline_margin_ms),
        heartbeat_s=ping_ms / 1000 if ping_ms and heartbeats else None,
        request_id=meta.id,
        stop=stop,
    )
    first = await anext(items, Failure(LLMRelayError("the answer ended unexpectedly")))
    if isinstance(first, Failure):
        await items.aclose()
        return first
    routed = watch.routed
    if routed is not None:
        meta = replace(meta, provider=routed.provider, model=routed.model_id)
        note_route(meta.provider, meta.model)
    return Started(first, items, meta)


async def gather(started: Started) -> Answer:
    """The whole answer: its text and how it ended."""
    items = started.items()
    async with aclosing(started.rest), aclosing(items):
        return await collect(items)


async def stream_frames(started: Started, encode: Encoder) -> AsyncGenerator[bytes, None]:
    """``encode``'s frames for the stream. Every generator involved is closed when the body
    ends or is closed (encoders stop at the terminal item, leaving their input suspended)."""
    items = started.items()
    frames = encode(items)
    async with aclosing(started.rest), aclosing(items), aclosing(frames):
        async for frame in frames:
            yield frame
