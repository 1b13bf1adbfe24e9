"""CORS in the code (``LLMRELAY_CORS_ORIGINS``, set by ``make dev``): preflights answered
before authentication, every response, streamed ones too, with the origin headers; off when
the variable is unset, as in AWS where the function URL does CORS itself."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest
from tests.gateway.app_client import call
from tests.leakscan import CANARY_CLIENT_KEY

from llmrelay.gateway import build_app
from llmrelay.gateway.auth import hash_key
from llmrelay.gateway.cors import Cors, CorsPolicy
from llmrelay.http import App, HttpRequest, HttpResponse, InvocationContext
from llmrelay.secrets import StaticSecrets

APP_ORIGIN = "https://app.example.com"
HELLO = {"messages": [{"role": "user", "content": "hello"}]}
PREFLIGHT = {"access-control-request-method": "POST", "access-control-request-headers": "x"}


def app_with(monkeypatch: pytest.MonkeyPatch, origins: str | None, auth: str = "none") -> App:
    if origins is not None:
        monkeypatch.setenv("LLMRELAY_CORS_ORIGINS", origins)
    monkeypatch.setenv("LLMRELAY_AUTH", auth)
    hashes = json.dumps([hash_key(CANARY_CLIENT_KEY)])
    return build_app(secrets=StaticSecrets({"CLIENT_API_KEY_HASHES": hashes}))


@pytest.mark.parametrize(
    ("env", "origins"),
    [
        pytest.param({}, None, id="unset-is-off"),
        pytest.param({"LLMRELAY_CORS_ORIGINS": " , "}, None, id="blank-is-off"),
        pytest.param({"LLMRELAY_CORS_ORIGINS": "*"}, ("*",), id="any"),
        pytest.param({"LLMRELAY_CORS_ORIGINS": "https://a.example,*"}, ("*",), id="star-wins"),
        pytest.param(
            {"LLMRELAY_CORS_ORIGINS": "https://A.example/, http://localhost:5173"},
            ("https://a.example", "http://localhost:5173"),
            id="list",
        ),
    ],
)
def test_the_policy_comes_from_llmrelay_cors_origins(
    env: Mapping[str, str], origins: tuple[str, ...] | None
) -> None:
    policy = CorsPolicy.from_env(env)
    assert (policy.origins if policy else None) == origins


@pytest.mark.parametrize("auth", ["none", "api_key"])
@pytest.mark.parametrize("path", ["/chat", "/v1/chat/completions", "/api/chat", "/v1/models"])
async def test_a_preflight_is_204_with_the_allowed_methods_and_headers_and_needs_no_key(
    monkeypatch: pytest.MonkeyPatch, auth: str, path: str
) -> None:
    app = app_with(monkeypatch, "*", auth)
    response, body = await call(app, "OPTIONS", path, headers={"origin": APP_ORIGIN, **PREFLIGHT})
    assert (response.status, body) == (204, b"")
    headers = response.headers
    assert headers["access-control-allow-origin"] == "*"
    assert headers["access-control-allow-methods"] == "GET, POST, DELETE"
    allowed = {name.strip() for name in headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "x-api-key", "content-type", "accept"} <= allowed
    assert headers["access-control-max-age"] == "600"
    assert "vary" not in headers


async def test_a_listed_origin_is_echoed_and_the_answer_varies_by_origin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = app_with(monkeypatch, f"{APP_ORIGIN},http://localhost:5173")
    headers = {"origin": APP_ORIGIN, **PREFLIGHT}
    response, _ = await call(app, "OPTIONS", "/chat", headers=headers)
    assert response.status == 204
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
    assert response.headers["vary"] == "origin"


async def test_a_preflight_from_an_unlisted_origin_is_403(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = app_with(monkeypatch, APP_ORIGIN)
    headers = {"origin": "https://evil.example", **PREFLIGHT}
    response, body = await call(app, "OPTIONS", "/chat", headers=headers)
    assert response.status == 403
    assert json.loads(body)["error"]["code"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["vary"] == "origin"


async def test_an_options_request_that_is_no_preflight_goes_to_the_router(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = app_with(monkeypatch, "*")
    response, _ = await call(app, "OPTIONS", "/chat")
    assert response.status == 405


@pytest.mark.parametrize(
    ("method", "path", "body", "content_type"),
    [
        pytest.param("POST", "/chat", HELLO, "text/event-stream", id="chat-streamed"),
        pytest.param("POST", "/chat", {**HELLO, "stream": False}, "application/json", id="batch"),
        pytest.param(
            "POST", "/v1/chat/completions", {**HELLO, "stream": True}, "text/event-stream", id="oai"
        ),
        pytest.param("GET", "/health", b"", "application/json", id="health"),
        pytest.param("GET", "/", b"", "text/html", id="page"),
        pytest.param("POST", "/chat", b"{", "application/json", id="error"),
        pytest.param("GET", "/nowhere", b"", "application/json", id="not-found"),
    ],
)
async def test_every_response_carries_the_origin_headers(
    monkeypatch: pytest.MonkeyPatch, method: str, path: str, body: object, content_type: str
) -> None:
    app = app_with(monkeypatch, APP_ORIGIN)
    response, raw = await call(app, method, path, body, {"origin": APP_ORIGIN})
    assert response.headers["content-type"].startswith(content_type)
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "retry-after" in response.headers["access-control-expose-headers"]
    assert response.headers["vary"] == "origin"
    assert raw


async def test_a_streamed_body_is_still_streamed(monkeypatch: pytest.MonkeyPatch) -> None:
    app = app_with(monkeypatch, "*")
    response, raw = await call(app, "POST", "/chat", HELLO, {"origin": APP_ORIGIN})
    assert not isinstance(response.body, bytes)
    assert response.headers["access-control-allow-origin"] == "*"
    assert b"event: done" in raw


async def test_a_401_carries_the_origin_headers_so_the_page_can_read_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = app_with(monkeypatch, APP_ORIGIN, auth="api_key")
    response, raw = await call(app, "POST", "/chat", HELLO, {"origin": APP_ORIGIN})
    assert response.status == 401
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
    assert json.loads(raw)["error"]["code"] == "unauthorized"


async def test_an_unlisted_origin_gets_no_allow_origin_header(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = app_with(monkeypatch, APP_ORIGIN)
    response, _ = await call(app, "GET", "/health", headers={"origin": "https://evil.example"})
    assert response.status == 200
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["vary"] == "origin"


async def test_a_vary_header_of_the_app_is_extended_not_replaced() -> None:
    async def varies(request: HttpRequest, context: InvocationContext) -> HttpResponse:
        return HttpResponse(200, {"Vary": "accept"}, b"ok")

    app = Cors(varies, CorsPolicy((APP_ORIGIN,)))
    response, _ = await call(app, "GET", "/", headers={"origin": APP_ORIGIN})
    assert response.headers["vary"] == "accept, origin"


async def test_without_llmrelay_cors_origins_no_cors_header_is_added(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = app_with(monkeypatch, None)
    response, _ = await call(app, "POST", "/chat", HELLO, {"origin": APP_ORIGIN})
    assert not any(name.startswith("access-control-") for name in response.headers)
    preflight, _ = await call(app, "OPTIONS", "/chat", headers={"origin": APP_ORIGIN, **PREFLIGHT})
    assert preflight.status == 405
