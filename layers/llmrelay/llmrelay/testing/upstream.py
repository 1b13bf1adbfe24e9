"""The base of every fake upstream: a loopback server that answers scripted replies.

A test queues :class:`Reply` objects (text pieces, usage, an optional :class:`Fault`);
each request pops one (or gets ``default``). Subclasses write the provider's real wire
format; status faults and a slow first byte are handled here for all of them.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

from llmrelay.httpd import Request, ResponseWriter
from llmrelay.server_thread import ServerThread

__all__ = ["FakeToolCall", "FakeUpstream", "Fault", "FaultKind", "RecordedRequest", "Reply"]

FaultKind = Literal[
    "status",  # answer `status` (401, 429 + retry-after, 500, 503, 529...) with an error body
    "slow_first_byte",  # wait `delay_s` before the response head
    "stall",  # after `after_chunks` pieces, go silent for `delay_s`, then continue
    "cut",  # after `after_chunks` pieces, drop the connection
    "malformed",  # after `after_chunks` pieces, send a line that is not valid JSON
    "in_stream_error",  # after `after_chunks` pieces, an error event on the 200 stream
]


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    status: int = 500
    retry_after: str | None = None
    after_chunks: int = 1
    delay_s: float = 1.0
    error_type: str = "overloaded_error"
    message: str = "scripted failure"


@dataclass(frozen=True)
class FakeToolCall:
    """A tool call a fake streams after the text: its id, name and argument fragments.
    ``index``: the index the upstream gives it (default: its position among the calls;
    set every call's to 0 to play a server that numbers parallel calls alike)."""

    id: str
    name: str
    fragments: tuple[str, ...] = ("{}",)
    index: int | None = None

    @property
    def arguments(self) -> str:
        return "".join(self.fragments)


@dataclass(frozen=True)
class Reply:
    pieces: tuple[str, ...] = ("Hello", ", ", "world", "!")
    input_tokens: int = 7
    output_tokens: int | None = None  # default: one token per piece
    finish_reason: str = "stop"
    fault: Fault | None = None
    # Send every event's bytes in two writes cut inside a multi-byte character when there
    # is one (else mid-event), so clients must reassemble across network reads.
    split_writes: bool = False
    piece_delay_s: float = 0.0
    # Beyond text: reasoning pieces (before the text), tool calls (after it), and usage
    # details (cached input tokens, reasoning tokens), each in the provider's own shape.
    reasoning: tuple[str, ...] = ()
    tool_calls: tuple[FakeToolCall, ...] = ()
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    # For upstreams that sign reasoning (Anthropic, Bedrock): the reasoning's signature
    # (empty: one the fake derives from the text), redacted reasoning blocks (their opaque
    # data, after the reasoning), and input tokens written to the prompt cache.
    # ``input_tokens`` counts every input token, cached or not, as
    # :class:`llmrelay.events.Usage` does; a fake whose API counts otherwise (Anthropic,
    # Bedrock) converts.
    signature: str = ""
    redacted: tuple[str, ...] = ()
    cache_write_tokens: int = 0
    # With ``finish_reason="stop_sequence"``: the stop sequence the fake says it met
    # (where the provider's API says which: Anthropic).
    stop_sequence: str | None = None

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    @property
    def completion_tokens(self) -> int:
        return len(self.pieces) if self.output_tokens is None else self.output_tokens


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class FakeUpstream(ServerThread):
    """Run with ``with FakeOpenAI() as fake:``; ``fake.url`` is the base URL root."""

    def __init__(self, default: Reply | None = None) -> None:
        super().__init__(self._handle)
        self.default = default or Reply()
        self.replies: deque[Reply] = deque()
        self.requests: list[RecordedRequest] = []
        self.disconnects = 0  # answers the client walked away from before their end

    def queue(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    async def _handle(self, request: Request, response: ResponseWriter) -> None:
        raw = await request.read_body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        self.requests.append(RecordedRequest(request.method, request.path, request.headers, body))
        reply = self.replies.popleft() if self.replies else self.default
        fault = reply.fault
        if fault is not None and fault.kind == "slow_first_byte":
            await asyncio.sleep(fault.delay_s)
        if fault is not None and fault.kind == "status":
            await response.send(*self.error_response(fault))
            return
        try:
            await self.answer(request, body, reply, response)
        except ConnectionError:
            self.disconnects += 1
            raise

    def error_response(self, fault: Fault) -> tuple[int, bytes, list[tuple[str, str]]]:
        """The status, body and headers of a status fault's answer."""
        headers = [("Content-Type", "application/json")]
        if fault.retry_after is not None:
            headers.append(("Retry-After", fault.retry_after))
        return fault.status, self.error_body(fault).encode(), headers

    async def write_event(self, response: ResponseWriter, data: bytes, reply: Reply) -> None:
        """Write one SSE event, split across two network writes when the reply asks."""
        if reply.piece_delay_s:
            await asyncio.sleep(reply.piece_delay_s)
        if not reply.split_writes or len(data) < 2:
            await response.write(data)
            return
        cut = next((i for i, b in enumerate(data) if b >= 0xC0), len(data) // 2 - 1) + 1
        await response.write(data[:cut])
        await asyncio.sleep(0.002)  # let the client read the first half on its own
        await response.write(data[cut:])

    async def fault_mid_stream(self, response: ResponseWriter, reply: Reply, index: int) -> bool:
        """Apply a mid-stream fault before piece ``index``; ``True`` means stop writing."""
        fault = reply.fault
        if fault is None or index != fault.after_chunks:
            return False
        if fault.kind == "stall":
            await asyncio.sleep(fault.delay_s)
            return False
        if fault.kind == "cut":
            response.abort()
            return True
        if fault.kind == "malformed":
            await response.write(self.malformed_event)
            await response.end()
            return True
        if fault.kind == "in_stream_error":
            await self.write_event(response, self.in_stream_error(fault), reply)
            await response.end()
            return True
        return False

    # A line the provider's SDK must fail to parse (each SDK skips different garbage).
    malformed_event = b'data: {"id": "broken", "choices": [\n\n'

    def in_stream_error(self, fault: Fault) -> bytes:
        """The event the provider sends when it fails after the 200 head."""
        raise NotImplementedError

    def error_body(self, fault: Fault) -> str:
        """The provider's JSON error document for a status fault."""
        raise NotImplementedError

    async def answer(
        self, request: Request, body: Any, reply: Reply, response: ResponseWriter
    ) -> None:
        """Write the provider's streamed (or whole) answer for ``reply``."""
        raise NotImplementedError
