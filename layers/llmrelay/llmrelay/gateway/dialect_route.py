"""The one chat route, whatever the client's dialect (:class:`~llmrelay.gateway.dialect.Dialect`).

The request is checked first (size, JSON, the dialect's fields, the model), and any
problem there is a 4xx error in the dialect's shape. Then the provider stream is started
and the route waits for its first item (:func:`~llmrelay.gateway.answer.start_answer`), so
a failure before any text still gets its own HTTP status. A streamed answer then goes out
as the dialect's SSE frames; a batch answer is gathered whole first, so every failure, even
one after some text, gets its HTTP status.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Generic

from llmrelay.chat import route
from llmrelay.config import Settings
from llmrelay.errors import LLMRelayError
from llmrelay.events import Block, Failure, Finish
from llmrelay.gateway.answer import Started, answer_meta, gather, start_answer, stream_frames
from llmrelay.gateway.body import read_json
from llmrelay.gateway.dialect import Arrival, AskT, Dialect
from llmrelay.gateway.options import GatewayOptions
from llmrelay.gateway.responses import JSON_HEADERS, sse_response
from llmrelay.http import HttpRequest, HttpResponse, InvocationContext
from llmrelay.models import ChatRequest
from llmrelay.protocols.base import StreamMeta
from llmrelay.resilience.watch import AnswerStream

__all__ = ["DialectRoute", "StreamFn"]

StreamFn = Callable[[ChatRequest], AnswerStream]


class DialectRoute(Generic[AskT]):
    """A chat route speaking ``dialect``. ``stream`` starts the provider stream for a
    request (:func:`llmrelay.stream_resilient` in production); ``clock`` gives the request's
    arrival (the native dialect times ``ttft_ms`` and ``total_ms`` from it), ``wall_clock``
    the answer's creation time."""

    def __init__(
        self,
        dialect: Dialect[AskT],
        stream: StreamFn,
        options: GatewayOptions,
        *,
        settings: Settings | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._dialect = dialect
        self._stream = stream
        self._options = options
        self._settings = settings
        self._clock = clock
        self._wall_clock = wall_clock

    async def __call__(self, request: HttpRequest, context: InvocationContext) -> HttpResponse:
        arrival = Arrival(self._clock(), self._clock)
        dialect = self._dialect
        try:
            ask = dialect.parse(request, read_json(request, self._options.max_body_bytes))
            where = route(ask.chat, self._settings)
            upstream = self._stream(ask.chat)
        except LLMRelayError as error:
            return dialect.error(error)
        batch = None if ask.stream else dialect.batch  # no batch encoder: always streamed
        meta = answer_meta(request, context, where, self._wall_clock())
        started = await start_answer(
            upstream, context, meta, self._options, heartbeats=batch is None
        )
        if isinstance(started, Failure):
            return dialect.error(started.error)
        # From here on, started.meta names the model that answers (a fallback, maybe).
        if batch is not None:
            return await self._gathered(started, partial(batch, ask))
        frames = stream_frames(started, dialect.encoder(ask, started.meta, arrival))
        return sse_response(frames, headers=dialect.sse_headers)

    async def _gathered(
        self,
        started: Started,
        encode: Callable[[StreamMeta, str, Finish, Sequence[Block]], bytes],
    ) -> HttpResponse:
        answer = await gather(started)
        if isinstance(answer.outcome, Failure):
            return self._dialect.error(answer.outcome.error)
        try:
            body = encode(started.meta, answer.text, answer.outcome, answer.blocks)
        except LLMRelayError as error:  # an answer the dialect cannot write (bad tool JSON)
            return self._dialect.error(error)
        return HttpResponse(200, dict(JSON_HEADERS), body)
