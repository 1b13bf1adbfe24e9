"""``python -m bench.anthropic_mapping``: the Anthropic adapter's own cost per text chunk.

The events that ``AsyncMessageStream`` yields for a text answer (each ``text_delta`` and
the SDK's derived ``text`` copy of it) are built once, then run through (a) nothing but the
iteration, (b) the loop the adapter had when it streamed text only (``text_stream``'s filter
and :meth:`BlockWriter.text`) and (c) :func:`events_from_stream`. The SDK's parsing, the same
in every case, is left out, so what is left is the mapping. CPU time, best of ``ROUNDS``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

__all__ = ["main"]

ROUNDS = 15


def _events(chunks: int) -> list[object]:
    from anthropic.lib.streaming import TextEvent
    from anthropic.types import RawMessageStreamEvent
    from pydantic import TypeAdapter

    adapter: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)
    usage = {"input_tokens": 3, "output_tokens": 1}
    message: dict[str, Any] = {"id": "m", "type": "message", "role": "assistant", "model": "m"}
    message |= {"content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}
    raw: list[dict[str, Any]] = [
        {"type": "message_start", "message": message},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ]
    events: list[object] = [adapter.validate_python(item) for item in raw]
    for number in range(chunks):
        delta = {"type": "text_delta", "text": f"tok{number} "}
        event = {"type": "content_block_delta", "index": 0, "delta": delta}
        events.append(adapter.validate_python(event))
        events.append(TextEvent(type="text", text=delta["text"], snapshot=""))
    end = {"stop_reason": "end_turn", "stop_sequence": None}
    events.append(adapter.validate_python({"type": "content_block_stop", "index": 0}))
    events.append(adapter.validate_python({"type": "message_delta", "delta": end, "usage": usage}))
    return events


async def _source(events: list[object]) -> AsyncIterator[Any]:
    for event in events:
        yield event


async def _iteration(events: list[object]) -> None:
    async for _ in _source(events):
        pass


async def _text_only(events: list[object]) -> None:
    from llmrelay.blocks import BlockWriter

    writer = BlockWriter()

    async def text_stream() -> AsyncIterator[str]:
        async for chunk in _source(events):
            if chunk.type == "content_block_delta" and chunk.delta.type == "text_delta":
                yield chunk.delta.text

    async for text in text_stream():
        writer.text(text)
    writer.close()


async def _blocks(events: list[object]) -> None:
    from llmrelay.providers.anthropic_events import events_from_stream

    async for _ in events_from_stream(_source(events), "anthropic"):
        pass


def _best(run: Callable[[list[object]], Coroutine[Any, Any, None]], events: list[object]) -> float:
    times = []
    for _ in range(ROUNDS):
        began = time.process_time()
        asyncio.run(run(events))
        times.append(time.process_time() - began)
    return min(times)


def main() -> int:
    chunks = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    events = _events(chunks)
    print(f"| {chunks} text chunks | µs per chunk (CPU, best of {ROUNDS}) |")
    print("|---|---:|")
    for name, run in (
        ("iterating the SDK's events only", _iteration),
        ("text_stream + BlockWriter.text (text-only adapter)", _text_only),
        ("events_from_stream (block adapter)", _blocks),
    ):
        print(f"| {name} | {_best(run, events) / chunks * 1e6:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
