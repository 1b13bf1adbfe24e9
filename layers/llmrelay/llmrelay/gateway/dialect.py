"""What one client dialect of the chat routes supplies: how it reads a request, how it
shapes errors, and how it encodes a streamed or a gathered answer.

Everything else, from the body's size cap to the wait for the first item, is the same for
every dialect and lives in :class:`~llmrelay.gateway.dialect_route.DialectRoute`. A dialect
is data: a frozen :class:`Dialect` of functions, each defined in the dialect's own module
(``chat_route``, ``openai_route``, ``vercel_route``) on top of its pure encoders in
:mod:`llmrelay.protocols`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from llmrelay.errors import LLMRelayError
from llmrelay.events import Block, Finish
from llmrelay.gateway.answer import Encoder
from llmrelay.http import HttpRequest, HttpResponse
from llmrelay.models import ChatRequest
from llmrelay.protocols.base import StreamMeta

__all__ = ["Arrival", "Ask", "AskT", "ChatAsk", "Dialect"]


class Ask(Protocol):
    """A request as a dialect read it: the chat to answer, and whether to stream it."""

    @property
    def chat(self) -> ChatRequest: ...

    @property
    def stream(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class ChatAsk:
    """An :class:`Ask` that says nothing more than the chat and whether to stream it."""

    chat: ChatRequest
    stream: bool = True


@dataclass(frozen=True, slots=True)
class Arrival:
    """When the request arrived, on ``clock`` (for dialects that time their answer)."""

    at: float
    clock: Callable[[], float]


AskT = TypeVar("AskT", bound=Ask)


@dataclass(frozen=True, slots=True, kw_only=True)
class Dialect(Generic[AskT]):
    """A dialect's part of a chat route.

    ``parse`` reads the decoded JSON body (and the request's headers, where they have a
    say) or raises an :class:`~llmrelay.errors.LLMRelayError`; ``error`` is the error
    response in the dialect's shape; ``encoder`` makes the SSE encoder of a streamed answer,
    sent with ``sse_headers`` on top of the gateway's; ``batch`` encodes a whole answer as
    a JSON body. A dialect without ``batch`` always streams. ``durable`` names the dialect
    in a durable stream's record when its streams can be kept and resumed (with the
    gateway's durable store on), and ``stream_ids`` says whether its frames carry SSE ids.
    """

    parse: Callable[[HttpRequest, object], AskT]
    error: Callable[[LLMRelayError], HttpResponse]
    encoder: Callable[[AskT, StreamMeta, Arrival], Encoder]
    batch: Callable[[AskT, StreamMeta, str, Finish, Sequence[Block]], bytes] | None = None
    sse_headers: Mapping[str, str] = field(default_factory=dict)
    durable: str | None = None
    stream_ids: bool = False
