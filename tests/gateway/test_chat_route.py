from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import pytest
from tests.gateway.app_client import call
from tests.gateway.fakes import Context, Pause, Script, Step
from tests.protocols.sse_reader import read_json_events

from llmrelay.config import get_settings
from llmrelay.errors import LLMRelayError, RateLimited, UpstreamUnavailable
from llmrelay.events import Finish, TextDelta, Usage
from llmrelay.gateway import GatewayOptions, build_app
from llmrelay.http import App, HttpRequest, HttpResponse
from llmrelay.sse import PING

SSE_HEADERS = {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
}
HELLO = [{"role": "user", "content": "hello streaming world"}]


def chat_body(**fields: Any) -> bytes:
    return json.dumps({"messages": HELLO, **fields}).encode()


async def post(
    app: App,
    body: bytes,
    headers: Mapping[str, str] | None = None,
    context: Context | None = None,
) -> tuple[HttpResponse, bytes]:
    return await call(app, "POST", "/chat", body, headers, context)


def scripted_app(*steps: Step, **options: Any) -> tuple[App, Script]:
    script = Script(steps)
    return build_app(stream=lambda chat: script.stream(), options=GatewayOptions(**options)), script


def error_of(response: HttpResponse, body: bytes) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/json"
    error: dict[str, Any] = json.loads(body)["error"]
    return error


# Streaming through the real echo provider.


async def test_a_chat_streams_meta_deltas_and_done_as_sse() -> None:
    response, body = await post(build_app(), chat_body(), context=Context(aws_request_id="r-42"))
    assert response.status == 200
    assert dict(response.headers) == SSE_HEADERS
    events = read_json_events(body)
    name, meta = events[0]
    assert name == "meta"
    assert {k: meta[k] for k in ("id", "provider", "model")} == {
        "id": "r-42",
        "provider": "echo",
        "model": "echo/echo",
    }
    assert isinstance(meta["created"], int)
    assert "".join(data["text"] for name, data in events if name == "delta") == (
        "hello streaming world"
    )
    name, done = events[-1]
    assert name == "done"
    assert (done["finish_reason"], done["model"]) == ("stop", "echo/echo")
    assert done["usage"] == {"input_tokens": 3, "output_tokens": 3}
    assert 0 <= done["timings"]["ttft_ms"] <= done["timings"]["total_ms"]


async def test_a_batch_chat_answers_one_json_document() -> None:
    response, body = await post(
        build_app(), chat_body(stream=False), context=Context(aws_request_id="r-7")
    )
    assert (response.status, response.headers["content-type"]) == (200, "application/json")
    assert json.loads(body) == {
        "id": "r-7",
        "model": "echo/echo",
        "text": "hello streaming world",
        "finish_reason": "stop",
        "usage": {"input_tokens": 3, "output_tokens": 3},
    }


MODES = [
    pytest.param({}, None, "sse", id="default-streams"),
    pytest.param({"stream": False}, None, "json", id="stream-false"),
    pytest.param({"stream": True}, None, "sse", id="stream-true"),
    pytest.param({}, "application/json", "json", id="accept-json"),
    pytest.param({}, "Application/JSON; charset=utf-8", "json", id="accept-json-params"),
    pytest.param({}, "application/json, text/event-stream", "sse", id="accept-both"),
    pytest.param({}, "text/event-stream;q=0, application/json", "json", id="sse-refused"),
    pytest.param({}, "application/json;q=0", "sse", id="json-refused"),
    pytest.param({}, "application/json;q=high", "json", id="bad-q-ignored"),
    pytest.param({}, "*/*", "sse", id="accept-anything"),
    pytest.param({"stream": True}, "application/json", "sse", id="body-true-beats-accept"),
    pytest.param({"stream": False}, "text/event-stream", "json", id="body-false-beats-accept"),
]


@pytest.mark.parametrize(("fields", "accept", "mode"), MODES)
async def test_the_body_then_accept_choose_between_streaming_and_batch(
    fields: dict[str, Any], accept: str | None, mode: str
) -> None:
    headers = {} if accept is None else {"accept": accept}
    response, _ = await post(build_app(), chat_body(**fields), headers)
    expected = SSE_HEADERS["content-type"] if mode == "sse" else "application/json"
    assert (response.status, response.headers["content-type"]) == (200, expected)


# Bad requests: a 4xx JSON error before the first byte, never a 500 or a traceback.

DEEP = b"[" * 100_000 + b"]" * 100_000
BAD = [
    pytest.param(b"", "invalid_json", "empty", id="empty-body"),
    pytest.param(b"  \n", "invalid_json", "empty", id="blank-body"),
    pytest.param(b'{"messages": [', "invalid_json", "line 1 column 15", id="truncated-json"),
    pytest.param(b"\xff\xfe\x00{", "invalid_json", "not valid JSON", id="not-utf8"),
    pytest.param(DEEP, "invalid_json", "nests too deeply", id="deep-nesting"),
    pytest.param(b'{"messages": NaN}', "invalid_json", "NaN", id="nan"),
    pytest.param(b'{"max_tokens": 1' + b"0" * 5000 + b"}", "invalid_json", "", id="huge-int"),
    pytest.param(b"[]", "invalid_request", "body", id="array-body"),
    pytest.param(b'"hi"', "invalid_request", "body", id="string-body"),
    pytest.param(b"{}", "invalid_request", "messages", id="no-messages"),
    pytest.param(b'{"messages": []}', "invalid_request", "messages", id="empty-messages"),
    pytest.param(
        chat_body(temperature=9), "invalid_request", "temperature", id="temperature-out-of-range"
    ),
    pytest.param(chat_body(stream="yes"), "invalid_request", "stream", id="stream-not-bool"),
    pytest.param(
        chat_body(functions=[]), "invalid_request", "functions: unknown field", id="extra-field"
    ),
    pytest.param(
        b'{"messages": [{"role": "robot", "content": "x"}]}',
        "invalid_request",
        "messages.0.role",
        id="bad-role",
    ),
    pytest.param(chat_body(model="nonsense"), "unknown_model", "provider/model", id="bad-model"),
    pytest.param(chat_body(model="acme/x"), "unknown_model", "acme", id="unknown-provider"),
    pytest.param(chat_body(context_id="nope"), "invalid_request", "context_id", id="bad-context"),
]


@pytest.mark.parametrize(("body", "code", "hint"), BAD)
async def test_bad_requests_get_a_400_json_error_naming_the_problem(
    body: bytes, code: str, hint: str
) -> None:
    response, raw = await post(build_app(), body)
    assert response.status == 400
    error = error_of(response, raw)
    assert error["code"] == code
    assert hint in error["message"]
    assert b"Traceback" not in raw


async def test_a_body_over_the_limit_gets_413() -> None:
    app = build_app(options=GatewayOptions(max_body_bytes=100))
    response, raw = await post(app, chat_body(user="u" * 200))
    assert response.status == 413
    assert error_of(response, raw)["code"] == "payload_too_large"


async def test_a_provider_without_its_key_gets_503_before_the_first_byte() -> None:
    response, raw = await post(build_app(), chat_body(model="openai/gpt-4o-mini"))
    assert response.status == 503
    assert error_of(response, raw)["code"] == "missing_key"


# Upstream failures: a real status before any text, an in-band `error` event after it.


async def test_an_upstream_error_before_text_gets_its_own_status() -> None:
    app, script = scripted_app(RateLimited("slow down", retry_after=2))
    response, raw = await post(app, chat_body())
    assert (response.status, response.headers["retry-after"]) == (429, "2")
    assert error_of(response, raw) == {
        "code": "rate_limited",
        "message": "slow down",
        "retryable": True,
        "retry_after": 2,
    }
    assert script.closed


async def test_an_unexpected_upstream_error_before_text_is_a_generic_500(
    capsys: pytest.CaptureFixture[str],
) -> None:
    app, _ = scripted_app(ZeroDivisionError("hf_abcdefghijklmnop"))
    response, raw = await post(app, chat_body(), context=Context(aws_request_id="r-5"))
    assert response.status == 500
    assert error_of(response, raw)["message"] == "internal error (request r-5)"
    assert "hf_abcdefghijklmnop" not in capsys.readouterr().err


INBAND = [
    pytest.param(UpstreamUnavailable("connection dropped"), "upstream_unavailable", id="llmrelay"),
    pytest.param(KeyError("x"), "internal_error", id="unexpected"),
]


@pytest.mark.parametrize(("error", "code"), INBAND)
async def test_an_error_after_text_travels_in_band_as_the_error_event(
    error: BaseException, code: str, capsys: pytest.CaptureFixture[str]
) -> None:
    app, script = scripted_app(TextDelta("Hel"), TextDelta("lo"), error)
    response, raw = await post(app, chat_body())
    assert response.status == 200
    events = read_json_events(raw)
    assert [name for name, _ in events] == ["meta", "delta", "delta", "error"]
    assert events[-1][1]["code"] == code
    assert events[-1][1]["usage"] == {"input_tokens": 0, "output_tokens": 2}
    assert script.closed


async def test_in_batch_mode_an_error_after_text_still_gets_its_status() -> None:
    app, _ = scripted_app(TextDelta("Hel"), UpstreamUnavailable("connection dropped"))
    response, raw = await post(app, chat_body(stream=False))
    assert response.status == 502
    assert error_of(response, raw)["code"] == "upstream_unavailable"


async def test_an_empty_answer_is_meta_then_done_without_ttft() -> None:
    app, _ = scripted_app(Finish("stop", Usage(1, 0)))
    _, raw = await post(app, chat_body())
    events = read_json_events(raw)
    assert [name for name, _ in events] == ["meta", "done"]
    assert events[-1][1]["timings"]["ttft_ms"] is None


async def test_a_silent_upstream_starts_the_stream_with_a_ping_then_errors_in_band() -> None:
    app, _ = scripted_app(
        Pause(0.15), TextDelta("late"), RateLimited("slow down"), ping_interval_ms=50
    )
    response, raw = await post(app, chat_body())
    assert response.status == 200
    assert raw.split(b"\n\n", 1)[1].startswith(PING)
    assert [name for name, _ in read_json_events(raw)] == ["meta", "delta", "error"]


async def test_a_client_that_goes_away_closes_the_upstream() -> None:
    app, script = scripted_app(TextDelta("a"), Pause(10), Finish())
    response = await app(HttpRequest("POST", "/chat", body=chat_body()), Context())
    assert not isinstance(response.body, bytes)
    frames = aiter(response.body)
    assert b"event: meta" in await anext(frames)
    assert b"event: delta" in await anext(frames)
    await response.body.aclose()  # type: ignore[attr-defined]
    assert script.closed


# The function's deadline, with a slow echo.


@pytest.fixture
def slow_echo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMRELAY_ECHO_DELAY_MS", "100")
    get_settings.cache_clear()


LONG = json.dumps({"messages": [{"role": "user", "content": " ".join(["word"] * 40)}]})


@pytest.mark.usefixtures("slow_echo")
async def test_a_stream_near_the_deadline_ends_with_deadline_exceeded_in_time() -> None:
    context = Context(remaining_ms=800)
    response, raw = await post(build_app(options=GatewayOptions()), LONG.encode(), context=context)
    assert response.status == 200
    events = read_json_events(raw)
    name, error = events[-1]
    assert (name, error["code"], error["retryable"]) == ("error", "deadline_exceeded", True)
    deltas = sum(name == "delta" for name, _ in events)
    assert 2 <= deltas < 40
    assert error["usage"]["output_tokens"] == deltas
    assert context.get_remaining_time_in_millis() >= 150


@pytest.mark.usefixtures("slow_echo")
async def test_a_batch_near_the_deadline_gets_504() -> None:
    body = json.dumps({"messages": json.loads(LONG)["messages"], "stream": False}).encode()
    response, raw = await post(build_app(), body, context=Context(remaining_ms=700))
    assert response.status == 504
    assert error_of(response, raw)["code"] == "deadline_exceeded"


async def test_a_request_arriving_inside_the_margin_gets_504_at_once() -> None:
    started = time.monotonic()
    response, raw = await post(build_app(), chat_body(), context=Context(remaining_ms=200))
    assert response.status == 504
    assert error_of(response, raw)["code"] == "deadline_exceeded"
    assert time.monotonic() - started < 0.5


SCRIPTS = [
    pytest.param((TextDelta("a"), Finish()), id="answer"),
    pytest.param((TextDelta("a"), RateLimited("x")), id="error-late"),
    pytest.param((TextDelta("a"), OSError("x")), id="crash-late"),
    pytest.param((TextDelta("a"),), id="truncated"),
    pytest.param((TextDelta("a"), Pause(5)), id="deadline"),
    pytest.param((TextDelta("a"), Finish(), LLMRelayError("after the end")), id="noise-after-end"),
]


@pytest.mark.parametrize("steps", SCRIPTS)
async def test_every_started_stream_ends_with_exactly_one_terminal_event(
    steps: tuple[Step, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    app, script = scripted_app(*steps, deadline_margin_ms=300)
    _, raw = await post(app, chat_body(), context=Context(remaining_ms=500))
    names = [name for name, _ in read_json_events(raw)]
    assert names[0] == "meta"
    assert names[-1] in {"done", "error"}
    assert sum(name in {"done", "error"} for name in names) == 1
    assert raw.endswith(b"\n\n")
    assert script.closed


async def test_the_echo_demo_streams_reasoning_text_and_a_tool_call_as_native_events() -> None:
    tools = [{"name": "weather", "parameters": {"type": "object"}}]
    body = json.dumps({"messages": [{"role": "user", "content": "/demo Oslo"}], "tools": tools})
    response, raw = await post(build_app(), body.encode())
    assert response.status == 200
    events = read_json_events(raw)
    names = [name for name, _ in events]
    assert names[0] == "meta"
    assert names[-1] == "done"
    ends = [data["block"] for name, data in events if name == "block_end"]
    assert [block["type"] for block in ends] == ["reasoning", "tool_call"]
    reasoning, call_ = ends
    assert reasoning["signature"]
    assert "".join(d.get("text", "") for n, d in events if n == "reasoning") == reasoning["text"]
    assert call_["name"] == "weather"
    assert json.loads(call_["arguments"]) == {"text": "Oslo"}
    assert "".join(d["arguments"] for n, d in events if n == "tool_input") == call_["arguments"]
    assert "Oslo" in "".join(d["text"] for n, d in events if n == "delta")
    assert events[-1][1]["finish_reason"] == "tool_calls"
