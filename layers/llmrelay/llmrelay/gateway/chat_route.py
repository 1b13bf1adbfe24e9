"""``POST /chat``: the native dialect, streaming SSE by default, batch JSON on request.

When the response starts: the request is checked first (size, JSON, fields, model) and
any problem there is a 4xx JSON error. Then the provider stream is started and the
handler *waits for its first item* (:func:`~llmrelay.gateway.answer.start_answer`) before
returning the response, so a failure before any text (missing key, upstream 401/429/5xx,
the deadline) still gets its own HTTP status and JSON body, the way clients and proxies
understand errors best. The wait is bounded: when the upstream stays silent for the ping
interval (``LLMRELAY_PING_INTERVAL_MS``, 10 s) the SSE response starts anyway with ``meta``
and a ``: ping``, so no client or proxy sits on a header-less connection. Once the response
has started, errors travel in-band as the ``error`` event, and the stream always ends with
exactly one ``done`` or ``error``, the deadline included.

Batch mode (``"stream": false`` in the body, or, when the body does not say, an ``Accept``
that takes ``application/json`` and not ``text/event-stream``) gathers the whole answer
before answering, so every failure, even one after some text, gets its HTTP status.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from functools import partial

from llmrelay.chat import route
from llmrelay.config import Settings
from llmrelay.errors import LLMRelayError
from llmrelay.events import Failure
from llmrelay.gateway.answer import Started, answer_meta, gather, start_answer, stream_frames
from llmrelay.gateway.body import read_json
from llmrelay.gateway.options import GatewayOptions
from llmrelay.gateway.responses import JSON_HEADERS, error_response, sse_response
from llmrelay.http import HttpRequest, HttpResponse, InvocationContext
from llmrelay.models import ChatRequest
from llmrelay.protocols.base import StreamMeta
from llmrelay.protocols.batch import encode_answer
from llmrelay.protocols.native import encode_native
from llmrelay.resilience.watch import AnswerStream

__all__ = ["ChatRoute", "StreamFn", "accepted_media_types", "wants_batch"]

StreamFn = Callable[[ChatRequest], AnswerStream]


def _refused(params: Iterable[str]) -> bool:
    """Whether a media range's parameters say ``q=0`` (the client refuses that type)."""
    for param in params:
        name, _, value = param.partition("=")
        if name.strip() == "q":
            try:
                return float(value) == 0
            except ValueError:
                return False
    return False


def accepted_media_types(accept: str) -> set[str]:
    """The media types an ``Accept`` header takes, lower-case, without those it refuses."""
    types: set[str] = set()
    for part in accept.split(","):
        media, *params = (piece.strip().lower() for piece in part.split(";"))
        if media and not _refused(params):
            types.add(media)
    return types


def wants_batch(request: HttpRequest, chat: ChatRequest) -> bool:
    """An explicit ``"stream"`` in the body decides; else ``Accept`` does."""
    if "stream" in chat.model_fields_set:
        return not chat.stream
    types = accepted_media_types(request.header("accept"))
    return "application/json" in types and "text/event-stream" not in types


async def _batch_response(meta: StreamMeta, started: Started) -> HttpResponse:
    answer = await gather(started)
    if isinstance(answer.outcome, Failure):
        return error_response(answer.outcome.error)
    body = encode_answer(meta, answer.text, answer.outcome)
    return HttpResponse(200, dict(JSON_HEADERS), body)


class ChatRoute:
    """The ``POST /chat`` handler. ``stream`` starts the provider stream for a request
    (:func:`llmrelay.stream_resilient` in production); ``clock`` times ``ttft_ms`` and
    ``total_ms`` from the request's arrival, ``wall_clock`` gives ``meta.created``."""

    def __init__(
        self,
        stream: StreamFn,
        options: GatewayOptions,
        *,
        settings: Settings | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._stream = stream
        self._options = options
        self._settings = settings
        self._clock = clock
        self._wall_clock = wall_clock

    async def __call__(self, request: HttpRequest, context: InvocationContext) -> HttpResponse:
        arrived = self._clock()
        try:
            chat = ChatRequest.parse(read_json(request, self._options.max_body_bytes))
            where = route(chat, self._settings)
            upstream = self._stream(chat)
        except LLMRelayError as error:
            return error_response(error)
        batch = wants_batch(request, chat)
        meta = answer_meta(request, context, where, self._wall_clock())
        started = await start_answer(upstream, context, meta, self._options, heartbeats=not batch)
        if isinstance(started, Failure):
            return error_response(started.error)
        if batch:
            return await _batch_response(started.meta, started)
        encode = partial(encode_native, started.meta, started=arrived, clock=self._clock)
        return sse_response(stream_frames(started, encode))
