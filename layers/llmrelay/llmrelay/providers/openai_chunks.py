"""OpenAI-style streamed chunks (``chat.completion.chunk``) into block events. Pure.

Read from each chunk's first choice's ``delta``:

- ``content`` → text;
- ``reasoning_content`` (DeepSeek, vLLM, Groq, many others) or ``reasoning`` (OpenRouter,
  newer vLLM) → reasoning text;
- ``tool_calls`` → tool-call blocks. A call opens on the delta that brings its ``id``;
  later fragments name only its ``index``. Some servers send every parallel call with
  ``index: 0``: a new ``id`` at an index that is open starts a new call, so calls are never
  merged.

Usage comes from whichever chunk carries it (the final empty-``choices`` chunk for OpenAI;
Gemini and Groq put it on the finish chunk), with ``prompt_tokens_details.cached_tokens``
and ``completion_tokens_details.reasoning_tokens`` when reported. A chunk is read as the plain
JSON object it is (OpenAI's, see :mod:`.openai_raw`) or by attribute (Hugging Face's types,
with the extra fields an SDK keeps only as ``model_extra``).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Final

from llmrelay.blocks import BlockWriter
from llmrelay.errors import UpstreamUnavailable
from llmrelay.events import Finish, FinishReason, StreamEvent, Usage
from llmrelay.providers.errormap import upstream_message

__all__ = ["events_from_chunks", "finish_reason_of", "usage_of"]

_FINISH_REASONS: Final[dict[str, FinishReason]] = {
    "stop": "stop",
    "eos_token": "stop",  # TGI (Hugging Face)
    "stop_sequence": "stop",  # TGI
    "length": "length",
    "max_tokens": "length",
    "content_filter": "content_filter",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
}


def finish_reason_of(raw: str | None) -> FinishReason:
    """The neutral finish reason for an OpenAI-style (or TGI) ``finish_reason``."""
    return _FINISH_REASONS.get(raw or "", "other")


def _field(obj: object, name: str) -> object:
    if isinstance(obj, dict):  # huggingface_hub keeps fields it does not know as plain dicts
        return obj.get(name)
    value = getattr(obj, name, None)
    if value is None:
        extra = getattr(obj, "model_extra", None)
        if isinstance(extra, dict):
            value = extra.get(name)
    return value


def _attr(obj: object, name: str) -> object:
    """A chunk's or a choice's field: a plain JSON object's key, else the attribute (Hugging
    Face's types are dicts too, but their attributes are what holds every field)."""
    return obj.get(name) if type(obj) is dict else getattr(obj, name, None)


def _int(obj: object, name: str) -> int:
    value = _field(obj, name) if obj is not None else None
    return value if isinstance(value, int) else 0


def usage_of(raw: object) -> Usage:
    prompt = _field(raw, "prompt_tokens_details")
    completion = _field(raw, "completion_tokens_details")
    return Usage(
        input_tokens=_int(raw, "prompt_tokens"),
        output_tokens=_int(raw, "completion_tokens"),
        cache_read_tokens=_int(prompt, "cached_tokens"),
        reasoning_tokens=_int(completion, "reasoning_tokens"),
    )


class _ToolCalls:
    """Which call each upstream ``index`` means now (see the module's docstring)."""

    def __init__(self, writer: BlockWriter) -> None:
        self._writer = writer
        self._at: dict[object, tuple[int, str]] = {}  # index -> (call number, id)
        self._calls = 0

    def _open(self, index: object, call_id: str, name: object) -> list[StreamEvent]:
        self._calls += 1
        self._at[index] = (self._calls, call_id)
        events = self._writer.end_sequential()
        return events + self._writer.tool_start(self._calls, call_id, str(name or ""))

    def read(self, raw: object) -> list[StreamEvent]:
        index = _field(raw, "index")
        index = 0 if index is None else index
        call_id = _field(raw, "id")
        function = _field(raw, "function")
        name = _field(function, "name")
        arguments = _field(function, "arguments")
        events: list[StreamEvent] = []
        current = self._at.get(index)
        if isinstance(call_id, str) and call_id and (current is None or current[1] != call_id):
            events += self._open(index, call_id, name)
        elif current is None:
            # A server that never sends ids: one call per index, with an id of llmrelay's.
            events += self._open(index, f"call_{self._calls + 1}", name)
        if isinstance(arguments, str):
            events += self._writer.tool_args(self._at[index][0], arguments)
        return events


def _delta_events(writer: BlockWriter, tools: _ToolCalls, delta: object) -> list[StreamEvent]:
    events: list[StreamEvent] = []
    reasoning = _field(delta, "reasoning_content") or _field(delta, "reasoning")
    if isinstance(reasoning, str):
        events += writer.reasoning(reasoning)
    content = _field(delta, "content")
    if isinstance(content, str):
        events += writer.text(content)
    calls = _field(delta, "tool_calls")
    if isinstance(calls, list | tuple):
        for raw in calls:
            events += tools.read(raw)
    return events


async def events_from_chunks(
    chunks: AsyncIterable[object], provider: str
) -> AsyncIterator[StreamEvent]:
    """The block events of an OpenAI-style stream, then one ``Finish`` with the usage."""
    reason: str | None = None
    usage = Usage()
    writer = BlockWriter()
    tools = _ToolCalls(writer)
    async for chunk in chunks:
        raw_usage = _attr(chunk, "usage")
        if raw_usage is not None:
            usage = usage_of(raw_usage)
        choices = _attr(chunk, "choices")
        for choice in choices if isinstance(choices, list | tuple) else ():
            delta = _attr(choice, "delta")
            if delta is not None:
                for event in _delta_events(writer, tools, delta):
                    yield event
            finish = _attr(choice, "finish_reason")
            reason = finish if isinstance(finish, str) and finish else reason
    if reason is None:
        message = upstream_message(provider, "ended its stream before the answer was complete")
        raise UpstreamUnavailable(message, provider=provider)
    for event in writer.close():
        yield event
    yield Finish(reason=finish_reason_of(reason), usage=usage)
