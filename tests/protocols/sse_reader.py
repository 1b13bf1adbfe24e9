"""Read bytes as a spec-following SSE client does (httpx-sse's decoder classes), chunk by
chunk, so tests check what a real client would see."""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable
from typing import Any

from httpx_sse import ServerSentEvent
from httpx_sse._decoders import SSEDecoder, SSELineDecoder

__all__ = ["read_json_events", "read_sse"]


def read_sse(raw: bytes | Iterable[bytes]) -> list[ServerSentEvent]:
    """The events a client dispatches from ``raw`` (one bytes object, or its chunks)."""
    chunks = [raw] if isinstance(raw, bytes) else list(raw)
    text = codecs.getincrementaldecoder("utf-8")()
    lines = SSELineDecoder()
    decoder = SSEDecoder()
    found: list[str] = []
    pieces = [text.decode(chunk) for chunk in chunks] + [text.decode(b"", final=True)]
    for piece in pieces:
        if piece:
            found.extend(lines.decode(piece))
    found.extend(lines.flush())
    events = [decoder.decode(line) for line in found]
    return [event for event in events if event is not None]


def read_json_events(raw: bytes | Iterable[bytes]) -> list[tuple[str, Any]]:
    """``(event name, decoded JSON data)`` for every event."""
    return [(event.event, json.loads(event.data)) for event in read_sse(raw)]
