"""``observed`` around apps that misbehave: each invocation is still emitted exactly once,
with the best code it can have, and the app's behaviour is left as it was."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from tests.gateway.fakes import Context

from llmrelay.http import HttpRequest, HttpResponse, InvocationContext
from llmrelay.observability import InvocationRecord, observed
from llmrelay.observability.emit import Emitter

REQUEST = HttpRequest("GET", "/teapot")


class Recorder:
    def __init__(self) -> None:
        self.records: list[InvocationRecord] = []

    def __call__(self, record: InvocationRecord) -> None:
        self.records.append(record)


async def test_an_app_that_raises_is_emitted_as_an_internal_error_and_still_raises() -> None:
    async def broken(request: HttpRequest, context: InvocationContext) -> HttpResponse:
        raise RuntimeError("boom")

    recorder = Recorder()
    with pytest.raises(RuntimeError):
        await observed(broken, recorder)(REQUEST, Context())
    [record] = recorder.records
    assert (record.status, record.error) == (500, "internal_error")
    assert record.ended is not None


async def test_an_error_status_without_an_error_response_counts_by_its_status() -> None:
    async def teapot(request: HttpRequest, context: InvocationContext) -> HttpResponse:
        return HttpResponse(418, {}, b"short and stout")

    recorder = Recorder()
    response = await observed(teapot, recorder)(REQUEST, Context())
    assert recorder.records == []  # nothing before the body has been sent and closed
    assert not isinstance(response.body, bytes)
    assert [part async for part in response.body] == [b"short and stout"]
    await response.body.aclose()  # type: ignore[attr-defined]
    await response.body.aclose()  # type: ignore[attr-defined]  # closing twice emits once
    [record] = recorder.records
    assert (record.status, record.error) == (418, "http_418")


async def test_a_body_that_fails_midway_is_emitted_once_closed() -> None:
    async def parts() -> AsyncIterator[bytes]:
        yield b"data: one\n\n"
        await asyncio.sleep(0)
        raise ConnectionError("gone")

    async def streaming(request: HttpRequest, context: InvocationContext) -> HttpResponse:
        return HttpResponse(200, {}, parts())

    recorder = Recorder()
    response = await observed(streaming, recorder)(REQUEST, Context())
    assert not isinstance(response.body, bytes)
    assert await anext(response.body) == b"data: one\n\n"
    with pytest.raises(ConnectionError):
        await anext(response.body)
    await response.body.aclose()  # type: ignore[attr-defined]
    [record] = recorder.records
    assert record.ended is not None
    assert record.status == 200


def test_an_unknown_log_level_falls_back_to_info(monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "chatty")
    assert Emitter().logger.level == logging.INFO
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "warning")
    assert Emitter().logger.level == logging.WARNING
