"""Calling the gateway app in process: raw (response and body bytes), or through an
``httpx2`` transport, so that a real SDK client (``openai.AsyncOpenAI``) talks to the app
with no socket in between and reads its streams as they are produced."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping

import httpx2
from tests.gateway.fakes import Context

from llmrelay.http import App, HttpRequest, HttpResponse

__all__ = ["call", "call_json", "read_body", "sdk_transport"]


async def read_body(response: HttpResponse) -> bytes:
    if isinstance(response.body, bytes):
        return response.body
    try:
        return b"".join([chunk async for chunk in response.body])
    finally:
        await response.body.aclose()  # type: ignore[attr-defined]


async def call(
    app: App,
    method: str,
    path: str,
    body: bytes | object = b"",
    headers: Mapping[str, str] | None = None,
    context: Context | None = None,
) -> tuple[HttpResponse, bytes]:
    """One request; a ``body`` that is not bytes is sent as JSON."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = HttpRequest(method, path, headers=dict(headers or {}), body=raw)
    response = await app(request, context or Context())
    return response, await read_body(response)


async def call_json(app: App, method: str, path: str, body: object = b"") -> tuple[int, object]:
    response, raw = await call(app, method, path, body)
    assert response.headers["content-type"] == "application/json"
    return response.status, json.loads(raw)


class _Body(httpx2.AsyncByteStream):
    """The app's body as the client's response stream: closing the response (an SDK
    stream's ``close()``) closes the app's body, as a dropped connection would."""

    def __init__(self, body: AsyncIterator[bytes]) -> None:
        self._body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._body:
            yield chunk

    async def aclose(self) -> None:
        await self._body.aclose()  # type: ignore[attr-defined]


def sdk_transport(app: App) -> httpx2.MockTransport:
    """A transport that hands each request to ``app``, streaming its body back."""

    async def handle(request: httpx2.Request) -> httpx2.Response:
        headers = {name.lower(): value for name, value in request.headers.items()}
        http = HttpRequest(request.method, request.url.path, headers=headers, body=request.content)
        response = await app(http, Context())
        status, headers = response.status, dict(response.headers)
        if isinstance(response.body, bytes):
            return httpx2.Response(status, headers=headers, content=response.body)
        return httpx2.Response(status, headers=headers, stream=_Body(response.body))

    return httpx2.MockTransport(handle)
