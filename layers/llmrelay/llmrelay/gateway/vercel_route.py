"""``POST /api/chat``: the Vercel AI SDK's UI message stream, so that ``useChat`` (its
``DefaultChatTransport``) pointed at the function URL just works.

The body is what ``useChat`` sends (:mod:`llmrelay.protocols.vercel_request`); the answer
is always streamed (:mod:`llmrelay.protocols.vercel`). Errors before the first byte are
the gateway's JSON errors with their HTTP status (``useChat`` shows the body text as its
``error.message``); after it, an ``error`` part. :data:`VERCEL_DIALECT` is what
:class:`~llmrelay.gateway.dialect_route.DialectRoute` needs to speak it.
"""

from __future__ import annotations

from functools import partial

from llmrelay.gateway.answer import Encoder
from llmrelay.gateway.dialect import Arrival, ChatAsk, Dialect
from llmrelay.gateway.responses import error_response
from llmrelay.http import HttpRequest
from llmrelay.protocols.base import StreamMeta
from llmrelay.protocols.vercel import UI_MESSAGE_STREAM_HEADERS, encode_ui_message_stream
from llmrelay.protocols.vercel_request import parse_ui_chat_request

__all__ = ["VERCEL_DIALECT"]


def _parse(request: HttpRequest, body: object) -> ChatAsk:
    return ChatAsk(parse_ui_chat_request(body))


def _encoder(ask: ChatAsk, meta: StreamMeta, arrival: Arrival) -> Encoder:
    return partial(encode_ui_message_stream, meta)


# No batch encoder: the answer is always streamed.
VERCEL_DIALECT: Dialect[ChatAsk] = Dialect(
    parse=_parse,
    error=error_response,
    encoder=_encoder,
    sse_headers=UI_MESSAGE_STREAM_HEADERS,
)
