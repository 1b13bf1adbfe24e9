"""``POST /v1/chat/completions``: the OpenAI-compatible dialect, so that any OpenAI SDK or
tool can use the gateway as its ``base_url``.

The request is OpenAI's (see :mod:`llmrelay.protocols.openai_request` for what is honoured,
ignored and refused); ``"stream": true`` answers ``chat.completion.chunk`` events, anything
else one ``chat.completion`` document. Errors before the first byte, and every error of a
non-streamed answer, have their own HTTP status and OpenAI's error shape; after it, they
travel in-band (see :mod:`llmrelay.protocols.openai`). :data:`OPENAI_DIALECT` is what
:class:`~llmrelay.gateway.dialect_route.DialectRoute` needs to speak it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial

from llmrelay.errors import LLMRelayError
from llmrelay.events import Block, Finish
from llmrelay.gateway.answer import Encoder
from llmrelay.gateway.dialect import Arrival, Dialect
from llmrelay.gateway.responses import error_response
from llmrelay.http import HttpRequest, HttpResponse
from llmrelay.protocols.base import StreamMeta
from llmrelay.protocols.openai import Completion, encode_chunks, encode_completion, encode_error
from llmrelay.protocols.openai_request import OpenAIRequest, parse_openai_request

__all__ = ["OPENAI_DIALECT", "openai_error_response"]


def openai_error_response(
    error: LLMRelayError, headers: Mapping[str, str] | None = None
) -> HttpResponse:
    """The error's status and headers (``Retry-After``, ``headers``), with OpenAI's body."""
    return replace(error_response(error, headers), body=encode_error(error))


def _parse(request: HttpRequest, body: object) -> OpenAIRequest:
    return parse_openai_request(body)


def _encoder(ask: OpenAIRequest, meta: StreamMeta, arrival: Arrival) -> Encoder:
    return partial(encode_chunks, Completion(meta, include_usage=ask.include_usage))


def _batch(
    ask: OpenAIRequest, meta: StreamMeta, text: str, finish: Finish, blocks: Sequence[Block]
) -> bytes:
    return encode_completion(Completion(meta), text, finish, blocks)


OPENAI_DIALECT: Dialect[OpenAIRequest] = Dialect(
    parse=_parse, error=openai_error_response, encoder=_encoder, batch=_batch
)
