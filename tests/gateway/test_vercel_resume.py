"""The AI SDK's resume protocol: ``GET /api/chat/{chatId}/stream`` is 204 when nothing is
streaming for the chat, else its UI message stream from the start, then live."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.gateway.app_client import call, read_body
from tests.gateway.durable_app import durable_app
from tests.gateway.fakes import Pause, Script
from tests.protocols.sse_reader import read_sse

from llmrelay.durable import MemoryStore
from llmrelay.events import Finish, TextDelta, Usage
from llmrelay.gateway import build_app
from llmrelay.sse import PING


def use_chat_body(chat_id: str = "chat-9", text: str = "hello there") -> dict[str, Any]:
    message = {"id": "m1", "role": "user", "parts": [{"type": "text", "text": text}]}
    return {"id": chat_id, "messages": [message], "trigger": "submit-message"}


def slow(words: int = 20, pause_s: float = 0.03) -> Script:
    steps: list[Any] = []
    for n in range(words):
        steps += [TextDelta(f"w{n} "), Pause(pause_s)]
    return Script((*steps, Finish("stop", Usage(1, words))))


async def test_a_reload_mid_answer_gets_the_whole_ui_stream_then_live() -> None:
    script = slow()
    relay = durable_app(lambda chat: script.stream())
    response = await relay.open("POST", "/api/chat", use_chat_body())
    live = asyncio.create_task(read_body(response))
    await asyncio.sleep(0.15)
    resumed, body = await relay.call("GET", "/api/chat/chat-9/stream")
    assert resumed.status == 200
    assert resumed.headers["x-vercel-ai-ui-message-stream"] == "v1"
    original = await live
    assert body == original.replace(PING, b"")
    assert read_sse(body)[-1].data == "[DONE]"
    assert "id" not in {field for e in read_sse(body) for field in ([e.id] if e.id else [])}


async def test_nothing_streaming_is_204() -> None:
    relay = durable_app()
    before, _ = await relay.call("GET", "/api/chat/chat-9/stream")
    await relay.call("POST", "/api/chat", use_chat_body())
    after, _ = await relay.call("GET", "/api/chat/chat-9/stream")
    other, _ = await relay.call("POST", "/api/chat", use_chat_body("chat-x"), caller="key:someone")
    assert (before.status, after.status, other.status) == (204, 204, 200)


async def test_another_callers_chat_is_204_and_durability_off_is_204() -> None:
    script = slow(30)
    relay = durable_app(lambda chat: script.stream())
    response = await relay.open("POST", "/api/chat", use_chat_body(), caller="key:alice")
    live = asyncio.create_task(read_body(response))
    await asyncio.sleep(0.1)
    theirs, _ = await relay.call("GET", "/api/chat/chat-9/stream", caller="key:mallory")
    assert theirs.status == 204
    stream_id = response.headers["x-llmrelay-stream-id"]
    stopped, _ = await relay.call("POST", f"/chat/{stream_id}/stop", caller="key:alice")
    assert stopped.status == 202
    parts = [json.loads(e.data) for e in read_sse(await live) if e.data != "[DONE]"]
    assert parts[-1]["type"] == "finish"
    off, _ = await call(build_app(durability=False), "GET", "/api/chat/chat-9/stream")
    assert off.status == 204


async def test_a_resume_that_cannot_be_read_to_its_end_ends_as_the_ui_stream_ends_errors() -> None:
    store = MemoryStore()
    script = slow(10, 0.05)
    relay = durable_app(lambda chat: script.stream(), store)
    response = await relay.open("POST", "/api/chat", use_chat_body())
    live = asyncio.create_task(read_body(response))
    await asyncio.sleep(0.15)
    resuming = asyncio.create_task(relay.call("GET", "/api/chat/chat-9/stream"))
    await asyncio.sleep(0.1)
    store.fail = True
    _, body = await resuming
    store.fail = False
    await live
    parts = [json.loads(e.data) for e in read_sse(body) if e.data != "[DONE]"]
    assert [p["type"] for p in parts[-4:]] == [
        "data-llmrelay-error",
        "error",
        "finish-step",
        "finish",
    ]
    assert parts[-4]["data"]["code"] == "store_unavailable"
    assert read_sse(body)[-1].data == "[DONE]"
