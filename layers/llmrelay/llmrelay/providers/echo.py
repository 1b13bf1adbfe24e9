"""``echo``: a real provider with no network. It streams the last user message back,
word by word, ``LLMRELAY_ECHO_DELAY_MS`` apart."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

from llmrelay.config import get_settings
from llmrelay.errors import InvalidRequest
from llmrelay.events import Finish, StreamEvent, TextDelta, Usage
from llmrelay.providers.base import ProviderCall

__all__ = ["EchoProvider", "split_words"]

_WORD = re.compile(r"\s*\S+\s*|\s+")


def split_words(text: str) -> list[str]:
    """Pieces whose concatenation is exactly ``text``: each word with the spaces around it."""
    return _WORD.findall(text)


class EchoProvider:
    def __init__(self, delay_ms: float | None = None) -> None:
        self._delay_ms = delay_ms

    async def stream(self, call: ProviderCall) -> AsyncIterator[StreamEvent]:
        delay = self._delay_ms if self._delay_ms is not None else get_settings().echo_delay_ms
        last_user = next((m.content for m in reversed(call.messages) if m.role == "user"), None)
        if last_user is None:  # ChatRequest forbids this; a hand-built ProviderCall may not
            raise InvalidRequest("messages: must contain at least one user message")
        all_words = split_words(last_user)
        words = all_words if call.max_tokens is None else all_words[: call.max_tokens]
        for index, word in enumerate(words):
            if delay > 0 and index:
                await asyncio.sleep(delay / 1000)
            yield TextDelta(word)
        prompt_words = sum(len(m.content.split()) for m in call.messages)
        prompt_words += len(call.system.split()) if call.system else 0
        yield Finish(
            reason="length" if len(words) < len(all_words) else "stop",
            usage=Usage(input_tokens=prompt_words, output_tokens=len(words)),
        )
