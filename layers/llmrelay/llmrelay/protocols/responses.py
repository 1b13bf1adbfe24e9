"""The OpenAI Responses dialect (``POST /v1/responses``): the ``Response`` object and its
stream, as the official SDKs read them (``client.responses.create``, ``.stream``).

Streaming: one SSE event per stream event, ``event: <type>`` and ``data: <JSON>``, each with
a ``sequence_number`` counting from 0:

- ``response.created``, ``response.in_progress`` (the response, ``status: "in_progress"``);
- per block, in the order blocks open (see :mod:`llmrelay.protocols.responses_items`), its
  item's ``response.output_item.added``, then
  text: ``response.content_part.added``, ``response.output_text.delta`` per piece,
  ``response.output_text.done``, ``response.content_part.done``;
  reasoning: ``response.reasoning_summary_part.added``,
  ``response.reasoning_summary_text.delta`` per piece, ``response.reasoning_summary_text.done``,
  ``response.reasoning_summary_part.done`` (when it has text);
  tool call: ``response.function_call_arguments.delta`` per fragment,
  ``response.function_call_arguments.done``;
  and its ``response.output_item.done`` with the whole item (the reasoning item's
  ``encrypted_content`` only there);
- the terminal event, with the whole response: ``response.completed`` (with ``usage``),
  ``response.incomplete`` (``incomplete_details.reason``: ``max_output_tokens`` for a length
  stop, ``content_filter``), or, on a failure after the first byte, ``response.failed``
  (``error: {code, message, param}``, llmrelay's stable code); items still open are first
  closed with ``status: "incomplete"``;
- ``: ping`` comments while the upstream is quiet; no ``[DONE]`` (OpenAI sends none here).

Batch: the ``Response`` document itself. Errors before the first byte: OpenAI's
``{"error": {"message", "type", "code", "param"}}`` (:mod:`llmrelay.protocols.openai`).
Usage is OpenAI's: ``input_tokens`` counts cached tokens too (``input_tokens_details``),
``output_tokens`` the reasoning tokens too (``output_tokens_details``). Pure.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from llmrelay.errors import LLMRelayError
from llmrelay.events import Block, Failure, Finish, TextBlock, Usage
from llmrelay.protocols.base import Heartbeat, StreamItem, StreamMeta, json_text
from llmrelay.protocols.openai import error_object
from llmrelay.protocols.responses_items import Status, item_id, output_item
from llmrelay.protocols.responses_output import Event, OutputItems
from llmrelay.protocols.responses_request import param_of
from llmrelay.sse import PING, encode_event

__all__ = [
    "ResponseInfo",
    "encode_error",
    "encode_response",
    "encode_response_events",
    "response_object",
    "responses_error",
    "usage_object",
]

_INCOMPLETE: Final = {"length": "max_output_tokens", "content_filter": "content_filter"}
_TERMINAL_EVENTS: Final = {"completed": "response.completed", "incomplete": "response.incomplete"}


@dataclass(frozen=True, slots=True)
class ResponseInfo:
    """One response's identity (``resp_<request id>``) and the request's settings that the
    ``Response`` object repeats (``instructions``, ``tools``, ``text``, ...)."""

    meta: StreamMeta
    echo: Mapping[str, object] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"resp_{self.meta.id}"


def usage_object(usage: Usage) -> dict[str, object]:
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {
            "cached_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        },
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }


def responses_error(error: LLMRelayError) -> dict[str, object]:
    """OpenAI's error document, with ``param`` naming the refused field in this dialect's
    names (``max_output_tokens``, ``text.format``, ``input.2.content.0.image_url``)."""
    document = error_object(error)
    inner = document["error"]
    assert isinstance(inner, dict)
    return {"error": {**inner, "param": param_of(error)}}


def encode_error(error: LLMRelayError) -> bytes:
    return json_text(responses_error(error)).encode("utf-8", "replace")


def response_object(
    info: ResponseInfo,
    output: Sequence[dict[str, object]] = (),
    outcome: Finish | Failure | None = None,
) -> dict[str, object]:
    """The ``Response``: in progress (no ``outcome``), or as ``outcome`` ended it."""
    model = info.meta.model
    status, error, incomplete, usage = "in_progress", None, None, None
    if isinstance(outcome, Finish):
        model = outcome.model or model  # a fallback may have answered after the start
        reason = _INCOMPLETE.get(outcome.reason)
        status = "completed" if reason is None else "incomplete"
        incomplete = None if reason is None else {"reason": reason}
        usage = usage_object(outcome.usage)
    elif isinstance(outcome, Failure):
        inner = responses_error(outcome.error)["error"]
        assert isinstance(inner, dict)
        status = "failed"
        error = {key: inner[key] for key in ("code", "message", "param")}
        usage = usage_object(outcome.usage)
    return {
        "id": info.id,
        "object": "response",
        "created_at": info.meta.created,
        "status": status,
        "background": False,
        "error": error,
        "incomplete_details": incomplete,
        "model": model,
        "output": list(output),
        "previous_response_id": None,
        "store": False,
        "usage": usage,
        **info.echo,
    }


def encode_response(
    info: ResponseInfo, text: str, finish: Finish, blocks: Sequence[Block] = ()
) -> bytes:
    """The batch answer: the whole ``Response`` document. ``text`` stands as a text block
    when ``blocks`` hold none (a stream of bare text deltas, which name no block)."""
    if text and not any(isinstance(block, TextBlock) for block in blocks):
        blocks = [*blocks, TextBlock(text)]
    last = len(blocks) - 1
    output = [
        output_item(
            item_id(info.meta.id, b.kind, n), b, _ended(finish) if n == last else "completed"
        )
        for n, b in enumerate(blocks)
    ]
    return json_text(response_object(info, output, finish)).encode("utf-8", "replace")


class _Sequence:
    """Frames each event with its type as the SSE ``event`` and the next sequence number."""

    def __init__(self) -> None:
        self._next = 0

    def frame(self, event: Event) -> bytes:
        body = {"type": event["type"], "sequence_number": self._next, **event}
        self._next += 1
        return encode_event(json_text(body), event=str(event["type"]))


def _ended(finish: Finish) -> Status:
    """The status of the last block's item: a length or content-filter stop cut that block
    (OpenAI's item then says ``incomplete``); any other finish leaves it whole."""
    return "incomplete" if finish.reason in _INCOMPLETE else "completed"


def _terminal(info: ResponseInfo, items: OutputItems, outcome: Finish | Failure) -> list[Event]:
    if isinstance(outcome, Finish):
        status = _ended(outcome)
        events = items.close_all(status, ended=status)
    else:  # a failure: what ended had ended whole; what was still open is cut
        events = items.close_all("incomplete", ended="completed")
    document = response_object(info, items.output(), outcome)
    kind = _TERMINAL_EVENTS.get(str(document["status"]), "response.failed")
    return [*events, {"type": kind, "response": document}]


async def encode_response_events(
    info: ResponseInfo, items: AsyncIterable[StreamItem]
) -> AsyncGenerator[bytes, None]:
    """The whole stream's frames; a stream that ends without a terminal item ends as
    ``response.failed``."""
    sequence, output = _Sequence(), OutputItems(info.meta.id)
    opening = response_object(info)
    yield sequence.frame({"type": "response.created", "response": opening})
    yield sequence.frame({"type": "response.in_progress", "response": opening})
    async for item in items:
        if isinstance(item, Heartbeat):
            yield PING
            continue
        if isinstance(item, Finish | Failure):
            for event in _terminal(info, output, item):
                yield sequence.frame(event)
            return
        for event in output.events(item):
            yield sequence.frame(event)
    ended = Failure(LLMRelayError("the answer ended unexpectedly"))
    for event in _terminal(info, output, ended):
        yield sequence.frame(event)
