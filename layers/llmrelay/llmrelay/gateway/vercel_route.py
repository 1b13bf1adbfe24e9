"""``POST /api/chat``: the Vercel AI SDK's UI message stream, so that ``useChat`` (its
``DefaultChatTransport``) pointed at the function URL just works.

The body is what ``useChat`` sends (:mod:`llmrelay.protocols.vercel_request`); the answer
is always streamed (:mod:`llmrelay.protocols.vercel`). Errors before the first byte are
the gateway's JSON errors with their HTTP status (``useChat`` shows the body text as its
``error.message``); after it, an ``error`` part.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial

from llmrelay.chat import route
from llmrelay.config import Settings
from llmrelay.errors import LLMRelayError
from llmrelay.events import Failure
from llmrelay.gateway.answer import answer_meta, start_answer, stream_frames
from llmrelay.gateway.body import read_json
from llmrelay.gateway.chat_route import StreamFn
from llmrelay.gateway.options import GatewayOptions
from llmrelay.gateway.responses import error_response, sse_response
from llmrelay.http import HttpRequest, HttpResponse, InvocationContext
from llmrelay.protocols.vercel import UI_MESSAGE_STREAM_HEADERS, encode_ui_message_stream
from llmrelay.protocols.vercel_request import parse_ui_chat_request

__all__ = ["VercelChatRoute"]


class VercelChatRoute:
    """The ``POST /api/chat`` handler; ``stream`` starts the provider stream for a request,
    ``wall_clock`` gives the answer's creation time."""

    def __init__(
        self,
        stream: StreamFn,
        options: GatewayOptions,
        *,
        settings: Settings | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._stream = stream
        self._options = options
        self._settings = settings
        self._wall_clock = wall_clock

    async def __call__(self, request: HttpRequest, context: InvocationContext) -> HttpResponse:
        try:
            chat = parse_ui_chat_request(read_json(request, self._options.max_body_bytes))
            where = route(chat, self._settings)
            upstream = self._stream(chat)
        except LLMRelayError as error:
            return error_response(error)
        meta = answer_meta(request, context, where, self._wall_clock())
        started = await start_answer(upstream, context, meta, self._options, heartbeats=True)
        if isinstance(started, Failure):
            return error_response(started.error)
        encode = partial(encode_ui_message_stream, started.meta)  # names the answering model
        response = sse_response(stream_frames(started, encode))
        return replace(response, headers={**response.headers, **UI_MESSAGE_STREAM_HEADERS})
