"""The gateway answers through ``stream_resilient``: retries and fallbacks before the
response starts, ``meta``/``done`` naming the model that answered, the guard's deadline
bounding retries, and failures after text in-band."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.gateway.fakes import Context
from tests.protocols.sse_reader import read_json_events

from llmrelay.config import Settings
from llmrelay.gateway import GatewayOptions, build_app
from llmrelay.http import HttpRequest, HttpResponse
from llmrelay.sse import PING
from llmrelay.testing import Fault, Reply

from .conftest import PRIMARY, SECONDARY, SLOW_S, Upstreams, secrets

CHAIN = json.dumps({PRIMARY: [SECONDARY]})


async def post(
    settings: Settings,
    path: str = "/chat",
    *,
    context: Context | None = None,
    ping_interval_ms: int = 0,
    **fields: Any,
) -> tuple[HttpResponse, bytes]:
    app = build_app(
        options=GatewayOptions(ping_interval_ms=ping_interval_ms),
        settings=settings,
        secrets=secrets(),
    )
    body = {"model": PRIMARY, "messages": [{"role": "user", "content": "Hi"}], **fields}
    request = HttpRequest("POST", path, body=json.dumps(body).encode())
    response = await app(request, context or Context())
    if isinstance(response.body, bytes):
        return response, response.body
    return response, b"".join([chunk async for chunk in response.body])


def named(events: list[tuple[str, Any]], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(data for event, data in events if event == name)
    return found


async def test_a_fallback_answer_is_named_by_meta_and_done(upstreams: Upstreams) -> None:
    upstreams.openai.queue(Reply(fault=Fault("status", status=401)))
    response, raw = await post(upstreams.settings(LLMRELAY_FALLBACKS=CHAIN))
    assert response.status == 200
    events = read_json_events(raw)
    meta, done = named(events, "meta"), named(events, "done")
    assert (meta["provider"], meta["model"], done["model"]) == ("anthropic", SECONDARY, SECONDARY)
    assert "".join(data["text"] for event, data in events if event == "delta") == "Hello, world!"


async def test_a_fallback_after_the_response_started_is_named_by_done(
    upstreams: Upstreams,
) -> None:
    # Pings start the response (meta names the model tried first) while the primary
    # keeps its first token back; the fallback then answers, and `done` says so.
    upstreams.openai.queue(Reply(fault=Fault("slow_first_byte", delay_s=SLOW_S)))
    settings = upstreams.settings(LLMRELAY_FALLBACKS=CHAIN, LLMRELAY_RETRY_ATTEMPTS="0")
    response, raw = await post(settings, ping_interval_ms=100)
    assert response.status == 200
    assert PING in raw
    events = read_json_events(raw)
    assert (named(events, "meta")["model"], named(events, "done")["model"]) == (PRIMARY, SECONDARY)


async def test_a_batch_answer_names_the_fallback(upstreams: Upstreams) -> None:
    upstreams.openai.queue(Reply(fault=Fault("status", status=503)))
    settings = upstreams.settings(LLMRELAY_FALLBACKS=CHAIN, LLMRELAY_RETRY_ATTEMPTS="0")
    response, raw = await post(settings, stream=False)
    assert response.status == 200
    assert json.loads(raw)["model"] == SECONDARY


async def test_the_openai_dialect_names_the_fallback(upstreams: Upstreams) -> None:
    upstreams.openai.queue(Reply(fault=Fault("status", status=503)))
    settings = upstreams.settings(LLMRELAY_FALLBACKS=CHAIN, LLMRELAY_RETRY_ATTEMPTS="0")
    response, raw = await post(settings, "/v1/chat/completions")
    assert response.status == 200
    assert json.loads(raw)["model"] == SECONDARY


async def test_a_retried_failure_never_reaches_the_client(upstreams: Upstreams) -> None:
    upstreams.openai.queue(Reply(fault=Fault("status", status=503)))
    response, raw = await post(upstreams.settings())
    events = read_json_events(raw)
    assert response.status == 200
    assert [event for event, _ in events] == ["meta", "delta", "delta", "delta", "delta", "done"]
    assert len(upstreams.openai.requests) == 2


async def test_the_functions_deadline_bounds_the_wait_for_a_retry(upstreams: Upstreams) -> None:
    # 1.3 s left, 0.3 s margin: a 2 s retry-after cannot fit, so the 429 is answered now
    # (with its hint) rather than cut by the deadline as a 504.
    upstreams.openai.queue(Reply(fault=Fault("status", status=429, retry_after="2")))
    started = time.monotonic()
    response, raw = await post(upstreams.settings(), context=Context(remaining_ms=1300))
    assert response.status == 429
    assert json.loads(raw)["error"]["retry_after"] == 2
    assert time.monotonic() - started < 0.5


async def test_a_failure_after_text_ends_the_stream_in_band(upstreams: Upstreams) -> None:
    upstreams.openai.queue(Reply(fault=Fault("stall", after_chunks=2, delay_s=SLOW_S)))
    response, raw = await post(upstreams.settings(LLMRELAY_FALLBACKS=CHAIN))
    assert response.status == 200
    events = read_json_events(raw)
    assert [event for event, _ in events] == ["meta", "delta", "delta", "error"]
    error = named(events, "error")
    assert (error["code"], error["retryable"]) == ("upstream_timeout", True)
    assert error["usage"]["output_tokens"] == 2
    assert upstreams.anthropic.requests == []
