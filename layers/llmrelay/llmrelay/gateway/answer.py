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
from dataclasses import dataclass

from llmrelay.chat import Route as ModelRoute
from llmrelay.errors import LLMRelayError
from llmrelay.events import Failure
from llmrelay.gateway.guard import Upstream, deadline_from, guard
from llmrelay.gateway.options import GatewayOptions
from llmrelay.http import HttpRequest, InvocationContext
from llmrelay.protocols.base import StreamItem, StreamMeta
from llmrelay.protocols.batch import Answer, collect

__all__ = ["Encoder", "Started", "answer_meta", "gather", "start_answer", "stream_frames"]

Encoder = Callable[[AsyncIterator[StreamItem]], AsyncGenerator[bytes, None]]


@dataclass(frozen=True, slots=True)
class Started:
    """A guarded stream whose first item has arrived (and is not a failure)."""

    first: StreamItem
    rest: AsyncGenerator[StreamItem, None]

    async def items(self) -> AsyncIterator[StreamItem]:
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
    upstream: Upstream,
    context: InvocationContext,
    meta: StreamMeta,
    options: GatewayOptions,
    *,
    heartbeats: bool,
) -> Started | Failure:
    """Guard ``upstream`` and wait for its first item: a ``Failure`` (the guarded stream
    already closed), or the :class:`Started` stream. With ``heartbeats``, upstream silence
    for ``options.ping_interval_ms`` is a ``Heartbeat`` item (which also ends the wait)."""
    ping_ms = options.ping_interval_ms
    items = guard(
        upstream,
        deadline=deadline_from(context, options.deadline_margin_ms),
        heartbeat_s=ping_ms / 1000 if ping_ms and heartbeats else None,
        request_id=meta.id,
    )
    first = await anext(items, Failure(LLMRelayError("the answer ended unexpectedly")))
    if isinstance(first, Failure):
        await items.aclose()
        return first
    return Started(first, items)


async def gather(started: Started) -> Answer:
    """The whole answer: its text and how it ended."""
    async with aclosing(started.rest):
        return await collect(started.items())


async def stream_frames(started: Started, encode: Encoder) -> AsyncGenerator[bytes, None]:
    """``encode``'s frames for the stream, closing both when the body ends or is closed."""
    frames = encode(started.items())
    async with aclosing(started.rest), aclosing(frames):
        async for frame in frames:
            yield frame
