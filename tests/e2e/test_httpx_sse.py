"""``httpx-sse`` reads the native ``POST /chat`` stream through ``make dev``'s emulator."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from httpx_sse import aconnect_sse
from tests.e2e.emulator import Emulator

pytestmark = pytest.mark.e2e

LONG = " ".join(f"word{n}" for n in range(60))  # longer than the slow emulator's deadline


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=20) as client:
        yield client


async def read_events(
    http: httpx.AsyncClient, url: str, body: dict[str, Any]
) -> list[tuple[str, Any]]:
    async with aconnect_sse(http, "POST", f"{url}/chat", json=body) as source:
        assert source.response.status_code == 200
        return [(event.event, json.loads(event.data)) async for event in source.aiter_sse()]


async def test_meta_deltas_and_done_arrive_as_events(
    http: httpx.AsyncClient, emulator: Emulator
) -> None:
    text = "h\u00e9llo \U0001f600 multi\nline\r\nanswer"
    events = await read_events(
        http, emulator.url, {"messages": [{"role": "user", "content": text}]}
    )
    names = [name for name, _ in events]
    assert names[0] == "meta"
    assert names[-1] == "done"
    assert set(names[1:-1]) == {"delta"}
    assert "".join(data["text"] for name, data in events if name == "delta") == text
    meta, done = events[0][1], events[-1][1]
    assert (meta["provider"], meta["model"]) == ("echo", "echo/echo")
    assert done["finish_reason"] == "stop"
    assert done["usage"]["output_tokens"] == len(names) - 2
    assert done["timings"]["ttft_ms"] <= done["timings"]["total_ms"]


async def test_an_error_after_text_is_the_last_event(
    http: httpx.AsyncClient, slow_emulator: Emulator
) -> None:
    body = {"messages": [{"role": "user", "content": LONG}]}
    events = await read_events(http, slow_emulator.url, body)
    name, error = events[-1]
    assert name == "error"
    assert (error["code"], error["retryable"]) == ("deadline_exceeded", True)
    assert error["usage"]["output_tokens"] == len(events) - 2
    assert "done" not in [name for name, _ in events]


async def test_an_error_before_the_first_byte_is_an_http_error_not_a_stream(
    http: httpx.AsyncClient, emulator: Emulator
) -> None:
    body = {"model": "nope/model", "messages": [{"role": "user", "content": "hi"}]}
    async with aconnect_sse(http, "POST", f"{emulator.url}/chat", json=body) as source:
        response = source.response
        await response.aread()
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == "unknown_model"
