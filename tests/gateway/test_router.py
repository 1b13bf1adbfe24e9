from __future__ import annotations

import json
from collections.abc import Mapping

import pytest
from tests.gateway.fakes import Context

from llmrelay.errors import LLMRelayError, RateLimited
from llmrelay.gateway import build_app
from llmrelay.gateway.router import Route, Router
from llmrelay.http import HttpRequest, HttpResponse, InvocationContext


async def ok(request: HttpRequest, context: InvocationContext) -> HttpResponse:
    return HttpResponse(200, {"content-type": "text/plain"}, request.method.encode())


async def throttled(request: HttpRequest, context: InvocationContext) -> HttpResponse:
    raise RateLimited("slow down", retry_after=1.5)


async def broken(request: HttpRequest, context: InvocationContext) -> HttpResponse:
    raise RuntimeError("token sk-ant-abcdefghijklmnop1234 rejected")


ROUTER = Router(
    [
        Route("POST", "/chat", ok),
        Route("GET", "/chat", ok),
        Route("GET", "/health", ok),
        Route("GET", "/throttled", throttled),
        Route("GET", "/broken", broken),
    ]
)

CASES = [
    pytest.param("GET", "/health", 200, None, id="get-health"),
    pytest.param("POST", "/chat", 200, None, id="post-chat"),
    pytest.param("post", "/chat", 200, None, id="method-case-ignored"),
    pytest.param("POST", "/chat/", 200, None, id="trailing-slash-ignored"),
    pytest.param("GET", "/nowhere", 404, "not_found", id="unknown-path"),
    pytest.param("GET", "/", 404, "not_found", id="root-not-routed"),
    pytest.param("GET", "/chat/extra", 404, "not_found", id="sub-path"),
    pytest.param("DELETE", "/chat", 405, "method_not_allowed", id="wrong-method"),
    pytest.param("POST", "/health", 405, "method_not_allowed", id="post-health"),
]


@pytest.mark.parametrize(("method", "path", "status", "code"), CASES)
async def test_method_and_path_choose_the_handler_or_a_json_error(
    method: str, path: str, status: int, code: str | None
) -> None:
    response = await ROUTER(HttpRequest(method, path), Context())
    assert response.status == status
    if code is not None:
        assert response.headers["content-type"] == "application/json"
        assert isinstance(response.body, bytes)
        error = json.loads(response.body)["error"]
        assert error["code"] == code
        assert isinstance(error["message"], str)
        assert error["message"]


ALLOW = [
    pytest.param("/chat", "GET, HEAD, POST", id="chat"),
    pytest.param("/health", "GET, HEAD", id="health"),
]


@pytest.mark.parametrize(("path", "allow"), ALLOW)
async def test_a_wrong_method_is_answered_with_the_allowed_ones(path: str, allow: str) -> None:
    response = await ROUTER(HttpRequest("PUT", path), Context())
    assert (response.status, response.headers["allow"]) == (405, allow)


async def test_head_is_served_where_get_is_without_the_body() -> None:
    response = await ROUTER(HttpRequest("HEAD", "/health"), Context())
    assert (response.status, response.headers["content-type"], response.body) == (
        200,
        "text/plain",
        b"",
    )


async def test_head_where_no_get_is_a_405() -> None:
    router = Router([Route("POST", "/only-post", ok)])
    response = await router(HttpRequest("HEAD", "/only-post"), Context())
    assert (response.status, response.headers["allow"]) == (405, "POST")


async def test_the_app_answers_head_of_the_page_as_the_page() -> None:
    app = build_app()
    page = await app(HttpRequest("GET", "/"), Context())
    head = await app(HttpRequest("HEAD", "/"), Context())
    assert (head.status, head.body) == (200, b"")
    assert head.headers == page.headers


async def test_a_long_unknown_path_is_not_echoed_whole() -> None:
    response = await ROUTER(HttpRequest("GET", "/" + "x" * 10_000), Context())
    assert isinstance(response.body, bytes)
    assert len(response.body) < 500


async def test_an_llmrelay_error_from_a_handler_gets_its_status_and_retry_after() -> None:
    response = await ROUTER(HttpRequest("GET", "/throttled"), Context())
    assert (response.status, response.headers["retry-after"]) == (429, "2")
    assert isinstance(response.body, bytes)
    assert json.loads(response.body) == {
        "error": {
            "code": "rate_limited",
            "message": "slow down",
            "retryable": True,
            "retry_after": 1.5,
        }
    }


async def test_an_unexpected_error_is_a_generic_500_and_a_redacted_log_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    response = await ROUTER(HttpRequest("GET", "/broken"), Context(aws_request_id="abc"))
    assert response.status == 500
    assert isinstance(response.body, bytes)
    assert json.loads(response.body)["error"] == {
        "code": "internal_error",
        "message": "internal error (request abc)",
        "retryable": False,
    }
    assert b"Traceback" not in response.body
    err = capsys.readouterr().err
    assert json.loads(err)["error_type"] == "RuntimeError"
    assert "sk-ant-abcdefghijklmnop1234" not in err


def test_two_routes_for_the_same_method_and_path_are_refused() -> None:
    with pytest.raises(ValueError, match="two routes"):
        Router([Route("GET", "/a", ok), Route("get", "/a/", ok)])


APP_ROUTES = [
    pytest.param("GET", "/health", 200, id="health"),
    pytest.param("GET", "/chat", 405, id="chat-get"),
    pytest.param("POST", "/missing", 404, id="missing"),
]


@pytest.mark.parametrize(("method", "path", "status"), APP_ROUTES)
async def test_the_built_app_routes_chat_and_health(method: str, path: str, status: int) -> None:
    response = await build_app()(HttpRequest(method, path), Context())
    assert response.status == status


def _teapot(error: LLMRelayError, headers: Mapping[str, str]) -> HttpResponse:
    return HttpResponse(error.status, {"x-shape": "teapot", **headers}, error.code.encode())


def _plain_text(error: LLMRelayError, headers: Mapping[str, str]) -> HttpResponse:
    return HttpResponse(error.status, {"x-shape": "plain"}, error.message.encode())


async def rest(request: HttpRequest, context: InvocationContext) -> HttpResponse:
    return HttpResponse(200, {}, request.path.removeprefix("/items/").encode())


SHAPED = Router(
    [
        Route("GET", "/items", ok),
        Route("GET", "/items/*", rest),
        Route("GET", "/api/throttled", throttled),
        Route("GET", "/api/deep/broken", broken),
    ],
    shapes={"/api/": _teapot, "/api/deep/": _plain_text},
)


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/items/a/b/c", 200, b"a/b/c"),
        ("/items/a/", 200, b"a/"),  # the handler reads the rest as it came
        ("/items", 200, b"GET"),
        ("/itemsx", 404, None),
    ],
)
async def test_a_star_route_takes_every_path_under_it(
    path: str, status: int, body: bytes | None
) -> None:
    response = await SHAPED(HttpRequest("GET", path), Context())
    assert response.status == status
    if body is not None:
        assert response.body == body


async def test_errors_take_the_shape_of_the_longest_matching_prefix() -> None:
    throttled_ = await SHAPED(HttpRequest("GET", "/api/throttled"), Context())
    assert (throttled_.headers["x-shape"], throttled_.body) == ("teapot", b"rate_limited")
    missing = await SHAPED(HttpRequest("GET", "/api/none"), Context())
    assert (missing.status, missing.body) == (404, b"not_found")
    wrong = await SHAPED(HttpRequest("POST", "/api/throttled"), Context())
    assert (wrong.status, wrong.headers["allow"], wrong.body) == (
        405,
        "GET, HEAD",
        b"method_not_allowed",
    )
    broken_ = await SHAPED(HttpRequest("GET", "/api/deep/broken"), Context(aws_request_id="r1"))
    assert broken_.headers["x-shape"] == "plain"
    assert broken_.body == b"internal error (request r1)"
    elsewhere = await SHAPED(HttpRequest("GET", "/elsewhere"), Context())
    assert elsewhere.headers["content-type"] == "application/json"


async def echo_params(request: HttpRequest, context: InvocationContext) -> HttpResponse:
    return HttpResponse(200, {}, json.dumps(dict(request.path_params)).encode())


PATTERNS = Router(
    [
        Route("POST", "/chat", ok),
        Route("GET", "/chat/{stream_id}", echo_params),
        Route("POST", "/chat/{stream_id}/stop", echo_params),
        Route("GET", "/chat/fixed", ok),
        Route("GET", "/files/*", ok),
    ]
)


@pytest.mark.parametrize(
    ("method", "path", "status", "body"),
    [
        pytest.param("GET", "/chat/abc", 200, b'{"stream_id": "abc"}', id="one-parameter"),
        pytest.param("GET", "/chat/a%2Fb/", 200, b'{"stream_id": "a/b"}', id="decoded-slash"),
        pytest.param("POST", "/chat/abc/stop", 200, b'{"stream_id": "abc"}', id="deeper"),
        pytest.param("GET", "/chat/fixed", 200, b"GET", id="fixed-path-wins"),
        pytest.param("POST", "/chat", 200, b"POST", id="exact-path-still-there"),
        pytest.param("GET", "/files/a/b", 200, b"GET", id="prefix-routes-still-there"),
        pytest.param("DELETE", "/chat/abc", 405, None, id="pattern-method-not-allowed"),
        pytest.param("GET", "/chat/abc/stop/more", 404, None, id="too-long"),
        pytest.param("GET", "/chat//stop", 404, None, id="empty-segment"),
    ],
)
async def test_path_parameters_match_one_segment_each(
    method: str, path: str, status: int, body: bytes | None
) -> None:
    response = await PATTERNS(HttpRequest(method, path), Context())
    assert response.status == status
    if body is not None:
        assert response.body == body
    if status == 405:
        assert response.headers["allow"] == "GET, HEAD"


def test_two_routes_for_one_pattern_and_method_are_refused() -> None:
    with pytest.raises(ValueError, match="two routes"):
        Router([Route("GET", "/t/{a}", ok), Route("GET", "/t/{a}", ok)])
