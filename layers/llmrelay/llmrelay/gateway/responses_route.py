"""``POST /v1/responses``: the OpenAI Responses API, stateless, so that the official SDKs'
``client.responses.create(...)`` and ``client.responses.stream(...)`` work with the
gateway as their ``base_url``, whatever the provider behind it.

The request is OpenAI's (see :mod:`llmrelay.protocols.responses_request` for what is
honoured and refused); ``"stream": true`` answers the Responses stream events, anything
else one ``Response`` document (:mod:`llmrelay.protocols.responses`). Errors before the
first byte, and every error of a non-streamed answer, have their own HTTP status and
OpenAI's error shape, ``param`` naming the field; after it, ``response.failed``.
:data:`RESPONSES_DIALECT` is what :class:`~llmrelay.gateway.dialect_route.DialectRoute`
needs to speak it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import partial

from llmrelay.errors import LLMRelayError
from llmrelay.events import Block, Finish
from llmrelay.gateway.answer import Encoder
from llmrelay.gateway.dialect import Arrival, Dialect
from llmrelay.gateway.responses import error_response
from llmrelay.http import HttpRequest, HttpResponse
from llmrelay.protocols.base import StreamMeta
from llmrelay.protocols.responses import (
    ResponseInfo,
    encode_error,
    encode_response,
    encode_response_events,
)
from llmrelay.protocols.responses_request import ResponsesRequest, parse_responses_request

__all__ = ["RESPONSES_DIALECT", "responses_error_response"]


def responses_error_response(error: LLMRelayError) -> HttpResponse:
    """The error's status and headers (``Retry-After``), with OpenAI's error body."""
    return replace(error_response(error), body=encode_error(error))


def _parse(request: HttpRequest, body: object) -> ResponsesRequest:
    return parse_responses_request(body)


def _encoder(ask: ResponsesRequest, meta: StreamMeta, arrival: Arrival) -> Encoder:
    return partial(encode_response_events, ResponseInfo(meta, ask.echo))


def _batch(
    ask: ResponsesRequest, meta: StreamMeta, text: str, finish: Finish, blocks: Sequence[Block]
) -> bytes:
    return encode_response(ResponseInfo(meta, ask.echo), text, finish, blocks)


RESPONSES_DIALECT: Dialect[ResponsesRequest] = Dialect(
    parse=_parse, error=responses_error_response, encoder=_encoder, batch=_batch
)
