"""``POST /v1/messages``: the Anthropic Messages dialect, so that the ``anthropic`` SDK (and
any tool built on it) can use the gateway as its ``base_url``, whatever the provider.

The request is Anthropic's (see :mod:`llmrelay.protocols.anthropic_request` for what is
honoured, ignored and refused); ``"stream": true`` answers Anthropic's stream events,
anything else one ``message`` document (:mod:`llmrelay.protocols.anthropic`). Errors before
the first byte, and every error of a non-streamed answer, have their own HTTP status and
Anthropic's error shape; after it, an ``error`` event. A client key may come as
``x-api-key`` (what the SDK sends) or as a bearer token. :data:`ANTHROPIC_DIALECT` is what
:class:`~llmrelay.gateway.dialect_route.DialectRoute` needs to speak it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial

from llmrelay.errors import LLMRelayError, UnsupportedParameter
from llmrelay.events import Block, Finish
from llmrelay.gateway.answer import Encoder
from llmrelay.gateway.dialect import Arrival, Dialect
from llmrelay.gateway.responses import error_response
from llmrelay.http import HttpRequest, HttpResponse
from llmrelay.protocols.anthropic import encode_error, encode_message, encode_messages_stream
from llmrelay.protocols.anthropic_request import (
    AnthropicRequest,
    dialect_names,
    parse_anthropic_request,
)
from llmrelay.protocols.base import StreamMeta

__all__ = ["ANTHROPIC_DIALECT", "anthropic_error_response"]


def _in_dialect(error: LLMRelayError) -> LLMRelayError:
    """A provider's refusal names the parameter as this dialect's client sent it."""
    if not isinstance(error, UnsupportedParameter):
        return error
    message = dialect_names(error.message)
    return UnsupportedParameter(message, param=error.param, provider=error.provider)


def anthropic_error_response(
    error: LLMRelayError, headers: Mapping[str, str] | None = None
) -> HttpResponse:
    """The error's status and headers (``Retry-After``, ``headers``), Anthropic's body."""
    error = _in_dialect(error)
    return replace(error_response(error, headers), body=encode_error(error))


def _parse(request: HttpRequest, body: object) -> AnthropicRequest:
    return parse_anthropic_request(body)


def _encoder(ask: AnthropicRequest, meta: StreamMeta, arrival: Arrival) -> Encoder:
    return partial(encode_messages_stream, meta)


def _batch(
    ask: AnthropicRequest, meta: StreamMeta, text: str, finish: Finish, blocks: Sequence[Block]
) -> bytes:
    return encode_message(meta, text, finish, blocks)


ANTHROPIC_DIALECT: Dialect[AnthropicRequest] = Dialect(
    parse=_parse, error=anthropic_error_response, encoder=_encoder, batch=_batch
)
