"""``echo``: a real provider with no network. It streams the last user message back,
word by word, ``LLMRELAY_ECHO_DELAY_MS`` apart.

So that a front end can be built against it before anyone pays for a token, it can also
show every kind of block:

- a last user message that starts with ``/demo`` is answered with a reasoning block (with a
  signature, as Anthropic's carry), then the rest of the message as text, then a call to the
  request's first tool (``echo`` when it offers none) with ``{"text": <the rest>}``, and
  finishes with ``tool_calls``;
- a conversation whose last message is a tool result is answered with
  ``Tool <name> answered: <result>``, so a tool loop ends;
- image and file parts are echoed as ``[image]`` / ``[file <name>]``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Final

from llmrelay.blocks import BlockWriter
from llmrelay.config import get_settings
from llmrelay.errors import InvalidRequest
from llmrelay.events import Finish, FinishReason, StreamEvent, Usage
from llmrelay.models import Message
from llmrelay.parts import FilePart, ImagePart, TextPart
from llmrelay.providers.base import ProviderCall

__all__ = ["DEMO_COMMAND", "EchoProvider", "split_words"]

DEMO_COMMAND: Final = "/demo"
_WORD = re.compile(r"\s*\S+\s*|\s+")


def split_words(text: str) -> list[str]:
    """Pieces whose concatenation is exactly ``text``: each word with the spaces around it."""
    return _WORD.findall(text)


def _said(message: Message) -> str:
    pieces: list[str] = []
    for part in message.parts:
        if isinstance(part, TextPart):
            pieces.append(part.text)
        elif isinstance(part, ImagePart):
            pieces.append(" [image] ")
        elif isinstance(part, FilePart):
            pieces.append(f" [file {part.filename or part.media_type}] ")
    return "".join(pieces).strip() if len(pieces) > 1 else "".join(pieces)


def _tool_name(call: ProviderCall, call_id: str) -> str:
    for message in call.messages:
        for part in message.tool_calls:
            if part.id == call_id:
                return part.name
    return "tool"


def _plan(call: ProviderCall) -> Iterator[tuple[str, str]]:
    """``(kind, piece)``: what to stream, in order (kinds: reasoning, text, tool)."""
    last = call.messages[-1] if call.messages else None
    if last is not None and last.role == "tool" and last.tool_call_id is not None:
        name = _tool_name(call, last.tool_call_id)
        for word in split_words(f"Tool {name} answered: {last.text}"):
            yield "text", word
        return
    user = next((m for m in reversed(call.messages) if m.role == "user"), None)
    if user is None:  # ChatRequest forbids this; a hand-built ProviderCall may not
        raise InvalidRequest("messages: must contain at least one user message")
    said = _said(user)
    if not said.startswith(DEMO_COMMAND):
        for word in split_words(said):
            yield "text", word
        return
    rest = said.removeprefix(DEMO_COMMAND).strip() or "hello"
    for word in split_words(
        f"The user wrote {len(rest.split())} words; echo them, then call a tool."
    ):
        yield "reasoning", word
    yield "signature", hashlib.sha256(rest.encode()).hexdigest()
    for word in split_words(rest):
        yield "text", word
    yield "tool", json.dumps({"text": rest}, ensure_ascii=False)


class EchoProvider:
    def __init__(self, delay_ms: float | None = None) -> None:
        self._delay_ms = delay_ms

    async def stream(self, call: ProviderCall) -> AsyncIterator[StreamEvent]:
        delay = self._delay_ms if self._delay_ms is not None else get_settings().echo_delay_ms
        plan = list(_plan(call))
        budget = len(plan) if call.max_tokens is None else call.max_tokens
        writer, sent = BlockWriter(), 0
        reason: FinishReason = "stop"
        for kind, piece in plan:
            if sent >= budget:
                reason = "length"
                break
            if delay > 0 and sent:
                await asyncio.sleep(delay / 1000)
            sent += 1
            for event in self._events(writer, call, kind, piece):
                yield event
            if kind == "tool":
                reason = "tool_calls"
        for event in writer.close():
            yield event
        prompt_words = sum(len(m.text.split()) for m in call.messages)
        prompt_words += len(call.system.split()) if call.system else 0
        usage = Usage(input_tokens=prompt_words, output_tokens=sent)
        yield Finish(reason=reason, usage=usage)

    @staticmethod
    def _events(
        writer: BlockWriter, call: ProviderCall, kind: str, piece: str
    ) -> list[StreamEvent]:
        if kind == "text":
            return writer.text(piece)
        if kind == "reasoning":
            return writer.reasoning(piece)
        if kind == "signature":
            return writer.reasoning(signature=piece)
        name = call.tools[0].name if call.tools else "echo"
        call_id = "call_echo_" + hashlib.sha256(piece.encode()).hexdigest()[:12]
        events = writer.end_sequential() + writer.tool_start(call_id, call_id, name)
        half = len(piece) // 2  # two fragments, as a real upstream would split them
        return (
            events
            + writer.tool_args(call_id, piece[:half])
            + writer.tool_args(call_id, piece[half:])
        )
