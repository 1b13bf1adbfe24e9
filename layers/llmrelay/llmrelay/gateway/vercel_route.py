"""``POST /api/chat``: the Vercel AI SDK's UI message stream, so that ``useChat`` (its
``DefaultChatTransport``) pointed at the function URL just works.

The body is what ``useChat`` sends (:mod:`llmrelay.protocols.vercel_request`); the answer
is always streamed (:mod:`llmrelay.protocols.vercel`).

An error before the first byte keeps its HTTP status, but its body is the error's human
message as plain text, the way the AI SDK's own route handlers answer: ``useChat``'s
transport makes the body text its ``error.message``, which front ends show as it is, so a
JSON document there would be shown raw. The stable code rides in the
``x-llmrelay-error-code`` header (exposed to browsers by the CORS layer), with
``retry-after`` when there is one. After the first byte an error is an ``error`` part.
:data:`VERCEL_DIALECT` is what :class:`~llmrelay.gateway.dialect_route.DialectRoute` needs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import partial

from llmrelay.errors import LLMRelayError
from llmrelay.gateway.answer import Encoder
from llmrelay.gateway.dialect import Arrival, ChatAsk, Dialect
from llmrelay.http import HttpRequest, HttpResponse
from llmrelay.observability.record import note_error
from llmrelay.protocols.base import StreamMeta
from llmrelay.protocols.vercel import UI_MESSAGE_STREAM_HEADERS, encode_ui_message_stream
from llmrelay.protocols.vercel_request import parse_ui_chat_request

__all__ = ["ERROR_CODE_HEADER", "VERCEL_DIALECT", "plain_error", "plain_error_response"]

ERROR_CODE_HEADER = "x-llmrelay-error-code"


def _parse(request: HttpRequest, body: object) -> ChatAsk:
    return ChatAsk(parse_ui_chat_request(body))


def plain_error(error: LLMRelayError) -> HttpResponse:
    """The error's message as ``text/plain``, its code in :data:`ERROR_CODE_HEADER`."""
    note_error(error.code)  # for the invocation's logs and metrics
    return plain_error_response(error, {})


def plain_error_response(error: LLMRelayError, extra: Mapping[str, str]) -> HttpResponse:
    """:func:`plain_error` with ``extra`` headers (``Allow``, ``WWW-Authenticate``): the shape
    of the router's and the client-key check's own errors under ``/api/chat``."""
    headers = {
        **extra,
        "content-type": "text/plain; charset=utf-8",
        "cache-control": "no-store",
        ERROR_CODE_HEADER: error.code,
    }
    retry_after = error.retry_after
    if retry_after is not None and math.isfinite(retry_after) and retry_after >= 0:
        headers["retry-after"] = str(math.ceil(retry_after))
    return HttpResponse(error.status, headers, error.message.encode("utf-8", "replace"))


def _encoder(ask: ChatAsk, meta: StreamMeta, arrival: Arrival) -> Encoder:
    return partial(encode_ui_message_stream, meta)


# No batch encoder: the answer is always streamed.
VERCEL_DIALECT: Dialect[ChatAsk] = Dialect(
    parse=_parse,
    error=plain_error,
    encoder=_encoder,
    sse_headers=UI_MESSAGE_STREAM_HEADERS,
    durable="vercel",
)
