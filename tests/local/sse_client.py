"""Read a native-dialect SSE stream with httpx, stamping each event with its arrival time."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = ["Event", "Stream", "aread_stream", "chat", "read_stream", "worker_of"]


@dataclass(frozen=True)
class Event:
    at: float
    name: str
    data: Any


@dataclass
class Stream:
    status: int
    headers: httpx.Headers
    events: list[Event] = field(default_factory=list)

    def named(self, name: str) -> list[Event]:
        return [event for event in self.events if event.name == name]

    @property
    def text(self) -> str:
        return "".join(event.data["text"] for event in self.named("delta"))


def chat(content: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": content}]}


def _take_line(stream: Stream, name: str, line: str) -> str:
    """One SSE line: a ``data:`` line becomes an event of ``stream``, stamped as it arrives.
    Returns the event name in force after it."""
    if line.startswith("event:"):
        return line.removeprefix("event:").strip()
    if line.startswith("data:"):
        data = json.loads(line.removeprefix("data:"))
        stream.events.append(Event(time.monotonic(), name, data))
    return name


def read_stream(client: httpx.Client, url: str, body: dict[str, Any]) -> Stream:
    with client.stream("POST", url, json=body) as response:
        stream = Stream(response.status_code, response.headers)
        name = "message"
        for line in response.iter_lines():
            name = _take_line(stream, name, line)
    return stream


async def aread_stream(client: httpx.AsyncClient, url: str, body: dict[str, Any]) -> Stream:
    async with client.stream("POST", url, json=body) as response:
        stream = Stream(response.status_code, response.headers)
        name = "message"
        async for line in response.aiter_lines():
            name = _take_line(stream, name, line)
    return stream


def worker_of(headers: httpx.Headers) -> tuple[int, str]:
    """The worker's pid and start (cold or warm) the emulator reports with each response."""
    match = re.fullmatch(r"pid=(\d+); (cold|warm)", headers["x-llmrelay-worker"])
    assert match is not None, headers
    return int(match.group(1)), match.group(2)
