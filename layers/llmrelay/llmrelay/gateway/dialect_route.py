"""The one chat route, whatever the client's dialect (:class:`~llmrelay.gateway.dialect.Dialect`).

The request is checked first (size, JSON, the dialect's fields, the model), and any
problem there is a 4xx error in the dialect's shape. With the durable store on, a request
that names a thread gets the thread's history in front of its messages (a store that
cannot be read is a 503 here). Then the provider stream is started and the route waits for
its first item (:func:`~llmrelay.gateway.answer.start_answer`), so a failure before any text
still gets its own HTTP status. A streamed answer then goes out as the dialect's SSE frames
(kept in the store as a durable stream, :mod:`llmrelay.gateway.durable_run`, when the
dialect takes part); a batch answer is gathered whole first, so every failure, even one
after some text, gets its HTTP status.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import Final, Generic

from llmrelay.chat import route
from llmrelay.config import Settings
from llmrelay.durable.records import StreamHead
from llmrelay.errors import LLMRelayError
from llmrelay.events import Block, Failure, Finish
from llmrelay.gateway.answer import Started, answer_meta, gather, start_answer, stream_frames
from llmrelay.gateway.body import read_json
from llmrelay.gateway.dialect import Arrival, AskT, Dialect
from llmrelay.gateway.durability import Durability, owner_of
from llmrelay.gateway.durable_run import DurableRun
from llmrelay.gateway.guard import deadline_from
from llmrelay.gateway.options import GatewayOptions
from llmrelay.gateway.responses import JSON_HEADERS, sse_response
from llmrelay.gateway.stop import StopSignal
from llmrelay.gateway.thread_turns import RequestThread, load_thread
from llmrelay.http import HttpRequest, HttpResponse, InvocationContext
from llmrelay.models import ChatRequest
from llmrelay.protocols.base import StreamMeta
from llmrelay.resilience.watch import AnswerStream

__all__ = ["STREAM_ID_HEADER", "DialectRoute", "StreamFn"]

StreamFn = Callable[[ChatRequest], AnswerStream]
STREAM_ID_HEADER: Final = "x-llmrelay-stream-id"


class DialectRoute(Generic[AskT]):
    """A chat route speaking ``dialect``. ``stream`` starts the provider stream for a
    request (:func:`llmrelay.stream_resilient` in production); ``durability`` keeps streams
    and threads (``None``: off); ``clock`` gives the request's arrival (the native dialect
    times ``ttft_ms`` and ``total_ms`` from it), ``wall_clock`` the answer's creation time."""

    def __init__(
        self,
        dialect: Dialect[AskT],
        stream: StreamFn,
        options: GatewayOptions,
        *,
        settings: Settings | None = None,
        durability: Durability | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._dialect = dialect
        self._stream = stream
        self._options = options
        self._settings = settings
        self._durability = durability
        self._clock = clock
        self._wall_clock = wall_clock

    async def __call__(self, request: HttpRequest, context: InvocationContext) -> HttpResponse:
        arrival = Arrival(self._clock(), self._clock)
        dialect = self._dialect
        durability = self._durability
        thread: RequestThread | None = None
        try:
            ask = dialect.parse(request, read_json(request, self._options.max_body_bytes))
            where = route(ask.chat, self._settings)
            chat = ask.chat
            if durability is not None:
                chat, thread = await load_thread(durability.store, owner_of(request), chat)
            upstream = self._stream(chat)
        except LLMRelayError as error:
            return dialect.error(error)
        batch = None if ask.stream else dialect.batch  # no batch encoder: always streamed
        run = None
        if durability is not None and batch is None and dialect.durable is not None:
            run = self._run(request, context, durability, thread)
            run.begin()  # the head is written while the upstream works on its first token
        meta = answer_meta(request, context, where, self._wall_clock())
        started = await start_answer(
            upstream,
            context,
            meta,
            self._options,
            heartbeats=batch is None,
            stop=None if run is None else run.stop,
        )
        if isinstance(started, Failure):
            if run is not None:
                await run.abandon()
            return dialect.error(started.error)
        # From here on, started.meta names the model that answers (a fallback, maybe).
        if batch is not None:
            return await self._gathered(started, partial(batch, ask), thread)
        if run is not None:
            stream_id = run.head.stream_id
            encoder = dialect.encoder(ask, replace(started.meta, stream_id=stream_id), arrival)
            frames = stream_frames(started, lambda items: encoder(run.items(items)))
            headers = {**dialect.sse_headers, STREAM_ID_HEADER: stream_id}
            return sse_response(run.frames(frames), headers=headers)
        frames = stream_frames(started, dialect.encoder(ask, started.meta, arrival))
        return sse_response(frames, headers=dialect.sse_headers)

    def _run(
        self,
        request: HttpRequest,
        context: InvocationContext,
        durability: Durability,
        thread: RequestThread | None,
    ) -> DurableRun:
        """A new durable stream for ``request``: its id, owner and generation deadline."""
        dialect = self._dialect
        now_ms = int(self._wall_clock() * 1000)
        head = StreamHead(
            secrets.token_urlsafe(16),
            owner_of(request),
            dialect.durable or "",
            created_ms=now_ms,
            deadline_ms=now_ms + context.get_remaining_time_in_millis(),
        )
        # The writer's end must fit before the guard's own deadline: the response's last bytes
        # leave then, and nothing may run after them.
        deadline = deadline_from(context, self._options.deadline_margin_ms // 2)
        return DurableRun(
            durability,
            head,
            StopSignal(),
            ids=dialect.stream_ids,
            thread=thread,
            deadline=deadline,
        )

    async def _gathered(
        self,
        started: Started,
        encode: Callable[[StreamMeta, str, Finish, Sequence[Block]], bytes],
        thread: RequestThread | None,
    ) -> HttpResponse:
        answer = await gather(started)
        if isinstance(answer.outcome, Failure):
            return self._dialect.error(answer.outcome.error)
        body = encode(started.meta, answer.text, answer.outcome, answer.blocks)
        if thread is not None and self._durability is not None:
            await thread.save(self._durability.store, answer.blocks, answer.outcome.reason)
        return HttpResponse(200, dict(JSON_HEADERS), body)
