"""One streamed HTTP exchange with the emulator, read raw and timed: when the head came,
when the first text did, when the body ended, and every byte in between.

The body is read with ``httpx``'s raw iterator, so a response that is cut (a chunked body
without its last chunk) raises ``httpx.RemoteProtocolError`` instead of passing for a
short answer.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["NATIVE_TEXT", "OPENAI_TEXT", "TimedStream", "post_timed"]

NATIVE_TEXT = b"event: delta"  # the first native text event
OPENAI_TEXT = b'"delta":{"content":"'  # an OpenAI chunk with text (the role chunk has "role")


@dataclass(frozen=True)
class TimedStream:
    """Times are seconds after the request was sent (``None``: never happened)."""

    status: int
    headers: httpx.Headers
    body: bytes
    head_s: float
    first_text_s: float | None
    end_s: float

    @property
    def worker(self) -> str:
        """The emulator's ``X-Llmrelay-Worker`` header: ``pid=<pid>; cold|warm``."""
        return str(self.headers.get("x-llmrelay-worker", ""))

    @property
    def pid(self) -> str:
        return self.worker.partition(";")[0].removeprefix("pid=")


async def post_timed(
    client: httpx.AsyncClient,
    url: str,
    body: dict[str, Any],
    *,
    text_marker: bytes = NATIVE_TEXT,
    limit_s: float = 30.0,
) -> TimedStream:
    """POST ``body`` as JSON to ``url`` and read the whole response (within ``limit_s``),
    timing it."""
    sent = time.monotonic()
    first_text: float | None = None
    received = bytearray()
    async with asyncio.timeout(limit_s), client.stream("POST", url, json=body) as response:
        head = time.monotonic() - sent
        async for chunk in response.aiter_raw():
            # Look from a little before the new bytes: a marker may straddle two reads.
            start = max(0, len(received) - len(text_marker))
            received += chunk
            if first_text is None and text_marker in received[start:]:
                first_text = time.monotonic() - sent
    return TimedStream(
        response.status_code,
        response.headers,
        bytes(received),
        head,
        first_text,
        time.monotonic() - sent,
    )
