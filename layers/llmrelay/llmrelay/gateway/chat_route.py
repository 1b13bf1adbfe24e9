"""``POST /chat``: the native dialect, streaming SSE by default, batch JSON on request.

:data:`NATIVE_DIALECT` is what :class:`~llmrelay.gateway.dialect_route.DialectRoute` needs
to speak it. When the response starts: the request is checked first (size, JSON, fields, model) and
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

from collections.abc import Iterable, Sequence
from functools import partial

from llmrelay.events import Block, Finish
from llmrelay.gateway.answer import Encoder
from llmrelay.gateway.dialect import Arrival, ChatAsk, Dialect
from llmrelay.gateway.responses import error_response
from llmrelay.http import HttpRequest
from llmrelay.models import ChatRequest
from llmrelay.protocols.base import StreamMeta
from llmrelay.protocols.batch import encode_answer
from llmrelay.protocols.native import encode_native

__all__ = ["NATIVE_DIALECT", "accepted_media_types", "wants_batch"]


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


def _parse(request: HttpRequest, body: object) -> ChatAsk:
    chat = ChatRequest.parse(body)
    return ChatAsk(chat, stream=not wants_batch(request, chat))


def _encoder(ask: ChatAsk, meta: StreamMeta, arrival: Arrival) -> Encoder:
    return partial(encode_native, meta, started=arrival.at, clock=arrival.clock)


def _batch(
    ask: ChatAsk, meta: StreamMeta, text: str, finish: Finish, blocks: Sequence[Block]
) -> bytes:
    return encode_answer(meta, text, finish, blocks)


NATIVE_DIALECT: Dialect[ChatAsk] = Dialect(
    parse=_parse,
    error=error_response,
    encoder=_encoder,
    batch=_batch,
    durable="native",
    stream_ids=True,
)
