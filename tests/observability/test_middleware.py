"""The function's logs and metrics, end to end: the real gateway and provider layer (the
OpenAI SDK against a fake upstream that speaks its wire format), wrapped by ``observed``,
with what it prints on stdout parsed back: Powertools' JSON log line and the CloudWatch
EMF documents."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from tests.gateway.app_client import call
from tests.gateway.fakes import Context
from tests.leakscan import CANARY_SECRETS, canary_scanner

from llmrelay.config import Settings
from llmrelay.gateway import build_app
from llmrelay.http import App, HttpRequest
from llmrelay.observability import Observed, observed
from llmrelay.observability.record import InvocationRecord
from llmrelay.runtime import streaming_handler
from llmrelay.secrets import StaticSecrets
from llmrelay.testing import FakeOpenAI, Fault, Reply

PIECES = ("Hello", ", ", "world", "!")
OPENAI_KEY = CANARY_SECRETS["OPENAI_API_KEY"]


@pytest.fixture
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(Reply(pieces=PIECES, input_tokens=9), api_key=OPENAI_KEY) as fake:
        yield fake


def app_for(upstream: FakeOpenAI, secrets: dict[str, str] | None = None) -> Observed:
    settings = Settings.from_env(
        {"LLMRELAY_OPENAI_BASE_URL": f"{upstream.url}/v1", "LLMRELAY_RETRY_ATTEMPTS": "0"}
    )
    keys = StaticSecrets(CANARY_SECRETS if secrets is None else secrets)
    return observed(build_app(settings=settings, secrets=keys))


def chat(model: str = "openai/gpt-4o-mini") -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}]}


def printed(out: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The log lines and the EMF documents among stdout's JSON lines."""
    documents = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [d for d in documents if "_aws" not in d], [d for d in documents if "_aws" in d]


def metrics_of(document: dict[str, Any]) -> dict[str, float]:
    [directive] = document["_aws"]["CloudWatchMetrics"]
    values = {m["Name"]: document[m["Name"]] for m in directive["Metrics"]}
    return {name: v[0] if isinstance(v, list) else v for name, v in values.items()}


def dimensions_of(document: dict[str, Any]) -> list[set[str]]:
    [directive] = document["_aws"]["CloudWatchMetrics"]
    return [set(names) for names in directive["Dimensions"]]


async def test_a_streamed_answer_is_logged_and_measured_once_it_has_ended(
    upstream: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    app = app_for(upstream)
    response = await app(HttpRequest("POST", "/chat", body=json.dumps(chat()).encode()), Context())
    assert not isinstance(response.body, bytes)
    first = await anext(response.body)
    assert first.startswith(b"event: meta")
    assert capsys.readouterr().out == ""  # nothing is written while the answer streams
    async for _ in response.body:
        pass
    await response.body.aclose()  # type: ignore[attr-defined]

    [log], [emf] = printed(capsys.readouterr().out)
    assert log["level"] == "INFO"
    assert log["service"] == "llmrelay"
    assert log["function_request_id"] == "req-1"
    assert (log["method"], log["path"], log["status"]) == ("POST", "/chat", 200)
    assert (log["provider"], log["model"]) == ("openai", "openai/gpt-4o-mini")
    assert (log["input_tokens"], log["output_tokens"]) == (9, len(PIECES))
    assert 0 < log["ttft_ms"] <= log["duration_ms"]
    assert "error_code" not in log

    [directive] = emf["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "LLMRelay"
    assert dimensions_of(emf) == [{"service", "provider", "model"}, {"service", "provider"}]
    assert (emf["service"], emf["provider"], emf["model"]) == (
        "llmrelay",
        "openai",
        "openai/gpt-4o-mini",
    )
    values = metrics_of(emf)
    assert values["Requests"] == 1
    assert values["Errors"] == 0
    assert (values["InputTokens"], values["OutputTokens"]) == (9, len(PIECES))
    assert 0 < values["TimeToFirstToken"] <= values["Duration"]
    assert values["ColdStart"] == 1
    units = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
    assert units["TimeToFirstToken"] == units["Duration"] == "Milliseconds"


async def test_only_the_first_invocation_is_a_cold_start(
    upstream: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    app = app_for(upstream)
    for _ in range(2):
        await call(app, "POST", "/chat", chat())
    logs, documents = printed(capsys.readouterr().out)
    assert [log["cold_start"] for log in logs] == [True, False]
    assert ["ColdStart" in metrics_of(d) for d in documents] == [True, False]


async def test_an_upstream_error_counts_by_code_and_its_model_stays_unconfirmed(
    upstream: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    upstream.queue(Reply(fault=Fault("status", status=429, retry_after="1")))
    response, _ = await call(app_for(upstream), "POST", "/chat", chat("openai/no-such-model"))
    assert response.status == 429

    [log], [emf, by_code] = printed(capsys.readouterr().out)
    assert (log["status"], log["error_code"]) == (429, "rate_limited")
    assert metrics_of(emf)["Errors"] == 1
    assert "TimeToFirstToken" not in metrics_of(emf)
    # The model string came from the client and no upstream accepted it: no dimension.
    assert emf["model"] == by_code["model"] == "unconfirmed"
    assert dimensions_of(by_code) == [{"service", "provider", "model", "code"}]
    assert (by_code["code"], metrics_of(by_code)) == ("rate_limited", {"Errors": 1})


async def test_an_error_after_the_first_byte_is_counted(
    upstream: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    upstream.queue(Reply(pieces=PIECES, fault=Fault("cut", after_chunks=2)))
    response, body = await call(app_for(upstream), "POST", "/chat", chat())
    assert response.status == 200
    assert b"event: error" in body

    [log], [emf, by_code] = printed(capsys.readouterr().out)
    assert (log["status"], log["error_code"], log["output_tokens"]) == (
        200,
        "upstream_unavailable",
        2,
    )
    assert metrics_of(emf)["Errors"] == 1
    assert emf["model"] == "openai/gpt-4o-mini"  # the upstream did answer before it failed
    assert by_code["code"] == "upstream_unavailable"


REQUESTS = [
    pytest.param("GET", "/nowhere", b"", 404, "not_found", id="unknown-path"),
    pytest.param("POST", "/chat", b"{", 400, "invalid_json", id="bad-json"),
    pytest.param("POST", "/chat", json.dumps(chat("nope/x")).encode(), 400, "unknown_model",
                 id="unknown-provider"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), REQUESTS)
async def test_requests_refused_before_any_provider_count_as_errors_of_no_provider(
    upstream: FakeOpenAI,
    capsys: pytest.CaptureFixture[str],
    method: str,
    path: str,
    body: bytes,
    status: int,
    code: str,
) -> None:
    response, _ = await call(app_for(upstream), method, path, body)
    assert response.status == status
    [log], [emf, by_code] = printed(capsys.readouterr().out)
    assert (log["status"], log["error_code"]) == (status, code)
    assert (emf["provider"], emf["model"], by_code["code"]) == ("none", "none", code)


async def test_health_is_logged_but_not_measured(
    upstream: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    response, _ = await call(app_for(upstream), "GET", "/health")
    assert response.status == 200
    [log], documents = printed(capsys.readouterr().out)
    assert (log["path"], log["status"]) == ("/health", 200)
    assert documents == []


async def test_the_namespace_and_service_come_from_powertools_variables(
    upstream: FakeOpenAI, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Team/Gateway")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "chat-gateway")
    await call(app_for(upstream), "POST", "/chat", chat())
    [log], [emf] = printed(capsys.readouterr().out)
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Team/Gateway"
    assert log["service"] == emf["service"] == "chat-gateway"


async def test_nothing_secret_is_logged_even_when_the_upstream_quotes_the_key(
    upstream: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    # A key the upstream rejects: OpenAI's 401 message quotes it back.
    rotated = {**CANARY_SECRETS, "OPENAI_API_KEY": "sk-proj-CANARYrejected8Hh3Jj5Kk7Ll"}
    app = app_for(upstream, rotated)
    pasted = rotated["OPENAI_API_KEY"]  # a client pasting a key where the model goes:
    for body in (chat(), chat(f"openai/{pasted}"), chat(f"echo/{pasted}")):
        await call(app, "POST", "/chat", body)
    await call(app, "GET", f"/{CANARY_SECRETS['HF_TOKEN']}")
    captured = capsys.readouterr()
    logs, documents = printed(captured.out)
    assert [log.get("error_code") for log in logs] == [
        "upstream_auth_failed",
        "upstream_auth_failed",
        None,  # echo answers any model name, so this one even became a dimension value
        "not_found",
    ]
    [echo] = [d for d in documents if d["provider"] == "echo"]
    assert echo["model"] == "echo/[redacted]"
    scanner = canary_scanner()
    scanner.add("REJECTED_KEY", rotated["OPENAI_API_KEY"])
    scanner.scan(captured.out, "stdout")
    scanner.scan(captured.err, "stderr")
    scanner.assert_clean()


async def test_the_buffered_handler_emits_too(
    upstream: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    handler = streaming_handler(app_for(upstream))
    event = {
        "rawPath": "/chat",
        "requestContext": {"http": {"method": "POST"}, "requestId": "url-req-7"},
        "body": json.dumps(chat()),
    }
    try:
        result = await _in_thread(lambda: handler(event, Context(aws_request_id="lambda-9")))
    finally:
        handler.close()
    assert result["statusCode"] == 200
    [log], [emf] = printed(capsys.readouterr().out)
    assert log["function_request_id"] == "lambda-9"
    assert metrics_of(emf)["OutputTokens"] == len(PIECES)


async def _in_thread(function: Any) -> Any:
    import asyncio

    return await asyncio.to_thread(function)


async def test_telemetry_that_fails_never_fails_the_answer(
    upstream: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    def broken(record: InvocationRecord) -> None:
        raise RuntimeError(f"emit failed for {OPENAI_KEY}")

    app: App = observed(app_for(upstream), broken)
    response, body = await call(app, "POST", "/chat", chat())
    assert response.status == 200
    assert b"event: done" in body
    err = capfd.readouterr().err
    assert "emitting logs and metrics failed" in err
    assert OPENAI_KEY not in err
