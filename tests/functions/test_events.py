"""The sample events in ``events/`` are realistic function-URL events (payload 2.0) and the
function answers each of them as documented, streamed and buffered."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from tests.gateway.fakes import Context
from tests.protocols.sse_reader import read_json_events

EVENTS = Path(__file__).resolve().parents[2] / "events"
FILES = sorted(EVENTS.glob("*.json"))

# file name -> (status, what the body must show)
EXPECTED: dict[str, tuple[int, str]] = {
    "chat-stream.json": (200, "sse:hello streaming world"),
    "chat-base64.json": (200, "sse:h\u00e9llo base64 w\u00f6rld"),
    "chat-batch.json": (200, "json:hello batch world"),
    "health.json": (200, "health"),
    "chat-malformed.json": (400, "error:invalid_json"),
}


def load(path: Path) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return event


def test_the_documented_events_are_all_there() -> None:
    assert set(EXPECTED) <= {path.name for path in FILES}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_each_event_is_a_function_url_payload_v2(path: Path) -> None:
    event = load(path)
    assert (event["version"], event["routeKey"]) == ("2.0", "$default")
    assert event["rawPath"].startswith("/")
    assert isinstance(event["rawQueryString"], str)
    assert all(name == name.lower() for name in event["headers"])
    context = event["requestContext"]
    assert {"accountId", "apiId", "domainName", "requestId", "time", "timeEpoch"} <= set(context)
    http = context["http"]
    assert {"method", "path", "protocol", "sourceIp", "userAgent"} <= set(http)
    assert http["path"] == event["rawPath"]
    assert isinstance(event["isBase64Encoded"], bool)


@pytest.fixture(scope="module")
def function() -> ModuleType:
    pytest.importorskip("llmrelay.runtime", reason="the runtime package has not landed yet")
    import app

    return app


def check(name: str, status: int, content_type: str, body: bytes) -> None:
    expected_status, shows = EXPECTED.get(name, (None, ""))
    assert status < 500
    assert b"Traceback" not in body
    if expected_status is None:
        return
    assert status == expected_status
    kind, _, value = shows.partition(":")
    if kind == "sse":
        assert content_type.startswith("text/event-stream")
        events = read_json_events(body)
        assert (events[0][0], events[-1][0]) == ("meta", "done")
        assert "".join(data["text"] for event, data in events if event == "delta") == value
    elif kind == "json":
        assert json.loads(body)["text"] == value
    elif kind == "health":
        assert json.loads(body)["status"] == "ok"
    else:
        assert json.loads(body)["error"]["code"] == value


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
async def test_each_event_streams_through_the_function(function: ModuleType, path: Path) -> None:
    response = await function.handler.respond(load(path), Context())
    body = response.body
    if not isinstance(body, bytes):
        body = b"".join([chunk async for chunk in body])
    check(path.name, response.status, response.headers["content-type"], body)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_each_event_gets_a_buffered_answer_too(function: ModuleType, path: Path) -> None:
    result = function.handler(load(path), Context())
    assert not result["isBase64Encoded"]
    body = result["body"].encode()
    check(path.name, result["statusCode"], result["headers"]["content-type"], body)
