"""The production fault of a stalled Secrets Manager (it accepts connections and never
answers, as from a VPC without a route to it), on the emulator's real workers: every route
answers within its bound, none waits for the function's timeout."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from tests.helpers.silent import silent_endpoint

from .test_front import gateway

pytestmark = pytest.mark.e2e

TIMEOUT_S = 15.0  # the function's; the secret wait (LLMRELAY_SECRET_TIMEOUT_MS) is 3 s
PROMPT_S = 1.0  # routes that need no secret
SECRET_BOUND_S = 5.0  # routes that do: the 3 s wait and the answer, far below TIMEOUT_S


@pytest.fixture(name="stalled_env")
def _stalled_env() -> Iterator[dict[str, str]]:
    with silent_endpoint() as url:
        yield {
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "LLMRELAY_SECRET_ID": "llmrelay/stalled",
            "LLMRELAY_DEV_TIMEOUT": str(TIMEOUT_S),
        }


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(TIMEOUT_S + 5)) as http:
        yield http


def _chat(model: str) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "are you there"}]}


async def _timed(
    client: httpx.AsyncClient, method: str, url: str, **kw: Any
) -> tuple[float, httpx.Response]:
    began = time.monotonic()
    response = await client.request(method, url, **kw)
    return time.monotonic() - began, response


async def test_every_route_answers_within_its_bound(
    client: httpx.AsyncClient, stalled_env: dict[str, str]
) -> None:
    async with gateway(env=stalled_env, concurrency=1) as running:
        url = running.url
        await client.get(f"{url}/health")  # the one worker is warm: no cold start below
        cases = [
            ("GET", "/health", None, 200, PROMPT_S),
            ("GET", "/", None, 200, PROMPT_S),
            ("POST", "/chat", _chat("echo/echo"), 200, PROMPT_S),
            ("POST", "/chat", _chat("openai/gpt-4o-mini"), 503, SECRET_BOUND_S),
            ("POST", "/v1/chat/completions", _chat("openai/gpt-4o-mini"), 503, SECRET_BOUND_S),
            ("GET", "/v1/models", None, 200, SECRET_BOUND_S),
            ("GET", "/health", None, 200, PROMPT_S),  # the fetch still hangs in its thread
        ]
        for method, path, body, status, bound in cases:
            took, response = await _timed(client, method, f"{url}{path}", json=body)
            assert (path, response.status_code) == (path, status)
            assert took < bound, (method, path, took)
            if status == 503:
                assert response.json()["error"]["code"] == "missing_key"
            if path == "/chat" and status == 200:
                assert "event: done" in response.text
            if path == "/v1/models":  # what needs no key is still listed
                assert [m["id"] for m in response.json()["data"]] == ["echo/echo"]


async def test_with_client_keys_on_echo_is_a_prompt_503_and_open_routes_never_wait(
    client: httpx.AsyncClient, stalled_env: dict[str, str]
) -> None:
    env = {**stalled_env, "LLMRELAY_AUTH": "api_key"}
    key = {"authorization": "Bearer some-client-key"}
    async with gateway(env=env, concurrency=1) as running:
        url = running.url
        await client.get(f"{url}/health")
        took, refused = await _timed(
            client, "POST", f"{url}/chat", json=_chat("echo/echo"), headers=key
        )
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "auth_unavailable"
        assert took < SECRET_BOUND_S
        for path in ("/health", "/"):
            took, response = await _timed(client, "GET", f"{url}{path}")
            assert response.status_code == 200
            assert took < PROMPT_S, (path, took)
