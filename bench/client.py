"""The clients that take the times: a lean SSE-over-HTTP/1.1 client for the relays, and the
provider SDK reading the fake upstream directly (the floor).

Both stamp the request's start, every text delta and the end with ``time.monotonic_ns()``
(``CLOCK_MONOTONIC``, the clock the fake upstream stamps its writes with). The SSE client
is deliberately thin (raw asyncio streams, one kept-alive connection, ``json.loads`` of
each delta as any real client does), so that what it measures is the relay, not itself.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openai import AsyncOpenAI

__all__ = ["SdkReader", "SseClient", "StreamTiming"]

_MESSAGES = [{"role": "user", "content": "Tell me about the quick brown fox."}]


@dataclass
class StreamTiming:
    """One streamed answer: when it was asked for, and when each text delta arrived."""

    sent: int
    arrivals: list[int] = field(default_factory=list)
    ended: int = 0
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ttfb_ms(self) -> float:
        return (self.arrivals[0] - self.sent) / 1e6

    @property
    def per_chunk_us(self) -> float:
        """Mean time between deltas, first to last (the inverse of the stream's rate)."""
        if len(self.arrivals) < 2:
            return math.nan
        return (self.arrivals[-1] - self.arrivals[0]) / 1e3 / (len(self.arrivals) - 1)

    @property
    def chunks_per_s(self) -> float:
        return 1e6 / self.per_chunk_us


def chat_body(model: str) -> bytes:
    return json.dumps({"model": model, "messages": _MESSAGES}).encode()


class SseClient:
    """``POST`` a chat request and read the SSE answer, on one kept-alive connection."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def close(self) -> None:
        if self._connection is not None:
            self._connection[1].close()
            self._connection = None

    async def chat(
        self,
        model: str,
        path: str = "/chat",
        on_first: Callable[[StreamTiming], object] | None = None,
    ) -> StreamTiming:
        """One request; ``on_first`` is called as the first text delta arrives."""
        body = chat_body(model)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            "Content-Type: application/json\r\nAccept: text/event-stream\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        if self._connection is None:
            self._connection = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._connection
        timing = StreamTiming(time.monotonic_ns())
        writer.write(head + body)
        await writer.drain()
        try:
            await self._read(reader, timing, on_first)
        except BaseException:
            await self.close()
            raise
        timing.ended = time.monotonic_ns()
        if timing.headers.get("connection", "").lower() == "close":
            await self.close()
        return timing

    async def _read(
        self,
        reader: asyncio.StreamReader,
        timing: StreamTiming,
        on_first: Callable[[StreamTiming], object] | None,
    ) -> None:
        status_line, *lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        timing.status = int(status_line.split(" ", 2)[1])
        for line in filter(None, lines):
            name, _, value = line.partition(":")
            timing.headers[name.strip().lower()] = value.strip()
        events = _SseParser(timing, on_first)
        if "chunked" not in timing.headers.get("transfer-encoding", ""):
            events.feed(await reader.readexactly(int(timing.headers.get("content-length", "0"))))
            return
        while size := int((await reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16):
            events.feed((await reader.readexactly(size + 2))[:-2])
        await reader.readuntil(b"\r\n")  # no trailers expected: the blank line


class _SseParser:
    """Splits the body into events; stamps each ``delta`` event as it completes."""

    def __init__(
        self, timing: StreamTiming, on_first: Callable[[StreamTiming], object] | None
    ) -> None:
        self._timing = timing
        self._on_first = on_first
        self._buffer = b""

    def feed(self, data: bytes) -> None:
        buffer = (self._buffer + data).replace(b"\r\n", b"\n")
        *frames, self._buffer = buffer.split(b"\n\n")
        for frame in frames:
            if frame.startswith(b"event: delta\n"):
                json.loads(frame[19:])  # after "event: delta\ndata: "
                self._timing.arrivals.append(time.monotonic_ns())
                if self._on_first is not None and len(self._timing.arrivals) == 1:
                    self._on_first(self._timing)


class SdkReader:
    """The floor: ``AsyncOpenAI`` reading the fake upstream itself (one client, reused)."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self._client: AsyncOpenAI | None = None

    async def chat(self, model: str) -> StreamTiming:
        if self._client is None:
            from openai import AsyncOpenAI

            self._client = AsyncOpenAI(base_url=self.base_url, api_key=self.api_key, max_retries=0)
        messages: Any = _MESSAGES
        timing = StreamTiming(time.monotonic_ns())
        stream = await self._client.chat.completions.create(
            model=model, messages=messages, stream=True, stream_options={"include_usage": True}
        )
        async for chunk in stream:
            for choice in chunk.choices:
                if choice.delta.content:
                    timing.arrivals.append(time.monotonic_ns())
        timing.ended = time.monotonic_ns()
        return timing

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
