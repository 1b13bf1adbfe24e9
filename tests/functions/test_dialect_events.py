"""The sample events of the client dialects (``events/openai-*.json``, ``vercel-chat.json``,
``models.json``, ``page.json``) get the dialect's answer from the function, streamed and
buffered."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from tests.gateway.fakes import Context
from tests.protocols.sse_reader import read_sse

EVENTS = Path(__file__).resolve().parents[2] / "events"


def _openai_stream(body: bytes) -> None:
    data = [event.data for event in read_sse(body)]
    assert data[-1] == "[DONE]"
    chunks = [ChatCompletionChunk.model_validate_json(item) for item in data[:-1]]
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == "hello openai stream"
    assert chunks[-1].usage is not None


def _openai_batch(body: bytes) -> None:
    answer = ChatCompletion.model_validate_json(body)
    assert answer.choices[0].message.content == "hello openai batch"


def _vercel(body: bytes) -> None:
    data = [event.data for event in read_sse(body)]
    assert data[-1] == "[DONE]"
    parts = [json.loads(item) for item in data[:-1]]
    assert "".join(p["delta"] for p in parts if p["type"] == "text-delta") == "hello use chat"
    assert parts[-1]["type"] == "finish"


def _models(body: bytes) -> None:
    assert json.loads(body)["data"][0]["id"] == "echo/echo"


def _page(body: bytes) -> None:
    assert body.startswith(b"<!doctype html>")


# file name -> (content type, what the body must show)
EXPECTED: dict[str, tuple[str, Callable[[bytes], None]]] = {
    "openai-stream.json": ("text/event-stream", _openai_stream),
    "openai-batch.json": ("application/json", _openai_batch),
    "vercel-chat.json": ("text/event-stream", _vercel),
    "models.json": ("application/json", _models),
    "page.json": ("text/html", _page),
}


def load(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return event


@pytest.fixture(scope="module")
def function() -> ModuleType:
    import app

    return app


def test_each_post_events_content_length_matches_its_body() -> None:
    for name in EXPECTED:
        event = load(name)
        if "body" in event:
            assert int(event["headers"]["content-length"]) == len(event["body"].encode())


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_each_dialect_event_streams_its_answer(function: ModuleType, name: str) -> None:
    content_type, shows = EXPECTED[name]
    response = await function.handler.respond(load(name), Context())
    body = response.body
    if not isinstance(body, bytes):
        body = b"".join([chunk async for chunk in body])
    assert response.status == 200
    assert response.headers["content-type"].startswith(content_type)
    shows(body)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_dialect_event_gets_a_buffered_answer_too(function: ModuleType, name: str) -> None:
    content_type, shows = EXPECTED[name]
    result = function.handler(load(name), Context())
    assert result["statusCode"] == 200
    assert result["headers"]["content-type"].startswith(content_type)
    shows(result["body"].encode())
