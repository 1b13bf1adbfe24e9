"""``POST /v1/chat/completions``: the OpenAI-compatible dialect, so that any OpenAI SDK or
tool can use the gateway as its ``base_url``.

The request is OpenAI's (see :mod:`llmrelay.protocols.openai_request` for what is honoured,
ignored and refused); ``"stream": true`` answers ``chat.completion.chunk`` events, anything
else one ``chat.completion`` document. Errors before the first byte, and every error of a
non-streamed answer, have their own HTTP status and OpenAI's error shape; after it, they
travel in-band (see :mod:`llmrelay.protocols.openai`).
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
from llmrelay.gateway.answer import Started, answer_meta, gather, start_answer, stream_frames
from llmrelay.gateway.body import read_json
from llmrelay.gateway.chat_route import StreamFn
from llmrelay.gateway.options import GatewayOptions
from llmrelay.gateway.responses import JSON_HEADERS, error_response, sse_response
from llmrelay.http import HttpRequest, HttpResponse, InvocationContext
from llmrelay.protocols.openai import Completion, encode_chunks, encode_completion, encode_error
from llmrelay.protocols.openai_request import parse_openai_request

__all__ = ["OpenAIChatRoute", "openai_error_response"]


def openai_error_response(error: LLMRelayError) -> HttpResponse:
    """The error's status and headers (``Retry-After``), with OpenAI's error body."""
    return replace(error_response(error), body=encode_error(error))


async def _batch_response(info: Completion, started: Started) -> HttpResponse:
    answer = await gather(started)
    if isinstance(answer.outcome, Failure):
        return openai_error_response(answer.outcome.error)
    body = encode_completion(info, answer.text, answer.outcome)
    return HttpResponse(200, dict(JSON_HEADERS), body)


class OpenAIChatRoute:
    """The ``POST /v1/chat/completions`` handler; ``stream`` starts the provider stream
    for a request, ``wall_clock`` gives ``created``."""

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
            parsed = parse_openai_request(read_json(request, self._options.max_body_bytes))
            where = route(parsed.chat, self._settings)
            upstream = self._stream(parsed.chat)
        except LLMRelayError as error:
            return openai_error_response(error)
        meta = answer_meta(request, context, where, self._wall_clock())
        started = await start_answer(
            upstream, context, meta, self._options, heartbeats=parsed.stream
        )
        if isinstance(started, Failure):
            return openai_error_response(started.error)
        # started.meta names the model that answers (a fallback, maybe).
        info = Completion(started.meta, include_usage=parsed.stream and parsed.include_usage)
        if not parsed.stream:
            return await _batch_response(info, started)
        return sse_response(stream_frames(started, partial(encode_chunks, info)))
