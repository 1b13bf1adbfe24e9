"""The route every chat dialect shares, driven by a toy dialect: its errors carry an
``x-dialect`` header, its stream is the deltas' text with a ``|end`` mark, its batch body
is the text upper-cased. What the real dialects say is in the ``test_*_route`` modules."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import replace
from functools import partial

import pytest
from tests.gateway.app_client import read_body
from tests.gateway.fakes import Context, Script, Step

from llmrelay.errors import LLMRelayError, UpstreamUnavailable
from llmrelay.events import Failure, Finish, TextDelta, Usage
from llmrelay.gateway import GatewayOptions
from llmrelay.gateway.answer import Encoder
from llmrelay.gateway.dialect import Arrival, ChatAsk, Dialect
from llmrelay.gateway.dialect_route import DialectRoute
from llmrelay.gateway.responses import error_response
from llmrelay.http import HttpRequest, HttpResponse
from llmrelay.models import ChatRequest
from llmrelay.protocols.base import Heartbeat, StreamItem, StreamMeta

HELLO = {"messages": [{"role": "user", "content": "hi"}]}
DONE = Finish("stop", Usage())


def _parse(request: HttpRequest, body: object) -> ChatAsk:
    chat = ChatRequest.parse(body)
    return ChatAsk(chat, stream=chat.stream)


def _error(error: LLMRelayError) -> HttpResponse:
    response = error_response(error)
    return replace(response, headers={**response.headers, "x-dialect": "toy"})


async def _frames(head: str, items: AsyncIterator[StreamItem]) -> AsyncGenerator[bytes, None]:
    yield head.encode()
    async for item in items:
        if isinstance(item, TextDelta):
            yield item.text.encode()
        elif not isinstance(item, Heartbeat):
            yield b"|end"
            return


def _encoder(ask: ChatAsk, meta: StreamMeta, arrival: Arrival) -> Encoder:
    return partial(_frames, f"{meta.id}@{arrival.at}:")


def _batch(ask: ChatAsk, meta: StreamMeta, text: str, finish: Finish, blocks: object) -> bytes:
    return json.dumps({"id": meta.id, "text": text.upper()}).encode()


TOY = Dialect(
    parse=_parse, error=_error, encoder=_encoder, batch=_batch, sse_headers={"x-toy": "1"}
)


async def answer(
    dialect: Dialect[ChatAsk], body: object, *steps: Step
) -> tuple[HttpResponse, bytes, Script]:
    script = Script(steps)
    route = DialectRoute(dialect, lambda chat: script.stream(), GatewayOptions(), clock=lambda: 7.0)
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = HttpRequest("POST", "/toy", body=raw)
    response = await route(request, Context(aws_request_id="r-1"))
    return response, await read_body(response), script


async def test_a_streamed_answer_is_the_dialects_frames_with_its_headers() -> None:
    response, body, script = await answer(TOY, HELLO, TextDelta("hel"), TextDelta("lo"), DONE)
    assert (response.status, body) == (200, b"r-1@7.0:hello|end")
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["x-toy"] == "1"
    assert script.closed


async def test_a_batch_answer_is_the_dialects_json_body() -> None:
    response, body, _ = await answer(TOY, {**HELLO, "stream": False}, TextDelta("hi"), DONE)
    assert (response.status, response.headers["content-type"]) == (200, "application/json")
    assert json.loads(body) == {"id": "r-1", "text": "HI"}


async def test_a_dialect_without_a_batch_encoder_always_streams() -> None:
    dialect = replace(TOY, batch=None)
    response, body, _ = await answer(dialect, {**HELLO, "stream": False}, TextDelta("hi"), DONE)
    assert (response.status, body) == (200, b"r-1@7.0:hi|end")


@pytest.mark.parametrize(
    ("body", "steps", "status"),
    [
        pytest.param(b"not json", (), 400, id="unreadable-body"),
        pytest.param({"messages": []}, (), 400, id="invalid-request"),
        pytest.param(HELLO, (Failure(UpstreamUnavailable("down")),), 502, id="failed-first"),
        pytest.param(
            {**HELLO, "stream": False},
            (TextDelta("hi"), Failure(UpstreamUnavailable("down"))),
            502,
            id="batch-failed-after-text",
        ),
    ],
)
async def test_errors_are_answered_in_the_dialects_shape(
    body: object, steps: tuple[Step, ...], status: int
) -> None:
    response, raw, _ = await answer(TOY, body, *steps)
    assert (response.status, response.headers["x-dialect"]) == (status, "toy")
    assert "error" in json.loads(raw)
