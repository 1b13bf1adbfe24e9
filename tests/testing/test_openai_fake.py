"""The fake OpenAI-style upstreams speak the real wire format, byte for byte where it counts."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import pytest

from llmrelay.testing import FakeHuggingFace, FakeOpenAI, Fault, Reply
from llmrelay.testing.openai_fake import chunks_of


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def post(
    fake: FakeOpenAI, body: Any, path: str = "/v1/chat/completions", key: str = "sk-test"
) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    connection.request("POST", path, json.dumps(body), headers)
    return connection.getresponse()


def completion(stream: bool = True, **extra: Any) -> dict[str, Any]:
    messages = [{"role": "user", "content": "Hi"}]
    return {"model": "gpt-test", "messages": messages, "stream": stream, **extra}


def test_a_stream_with_include_usage_ends_with_a_usage_chunk_then_done(fake: FakeOpenAI) -> None:
    fake.queue(Reply(pieces=("Hé", "llo"), input_tokens=4))
    answer = post(fake, completion(stream_options={"include_usage": True}))
    raw = answer.read()
    assert answer.status == 200
    assert answer.getheader("Content-Type", "").startswith("text/event-stream")
    assert raw.endswith(b"data: [DONE]\n\n")
    chunks = chunks_of(raw)
    assert [c["object"] for c in chunks] == ["chat.completion.chunk"] * 5
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    assert [c["choices"][0]["delta"].get("content") for c in chunks[1:3]] == ["Hé", "llo"]
    assert chunks[3]["choices"][0]["finish_reason"] == "stop"
    assert [c["usage"] for c in chunks[:4]] == [None] * 4
    usage = {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}
    assert (chunks[4]["choices"], chunks[4]["usage"]) == ([], usage)
    assert {c["model"] for c in chunks} == {"gpt-test"}


def test_a_stream_without_include_usage_has_no_usage_at_all(fake: FakeOpenAI) -> None:
    chunks = chunks_of(post(fake, completion()).read())
    assert all("usage" not in c for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_without_stream_the_answer_is_one_chat_completion(fake: FakeOpenAI) -> None:
    fake.queue(Reply(pieces=("a", "b"), finish_reason="length"))
    document = json.loads(post(fake, completion(stream=False)).read())
    assert document["object"] == "chat.completion"
    [choice] = document["choices"]
    assert (choice["message"]["content"], choice["finish_reason"]) == ("ab", "length")
    assert document["usage"]["total_tokens"] == 9


def test_requests_are_recorded_with_path_headers_and_body(fake: FakeOpenAI) -> None:
    post(fake, completion(), path="/v1beta/openai/chat/completions", key="k-1").read()
    [recorded] = fake.requests
    assert (recorded.method, recorded.path) == ("POST", "/v1beta/openai/chat/completions")
    assert recorded.headers["authorization"] == "Bearer k-1"
    assert recorded.body["model"] == "gpt-test"


def test_an_unknown_path_is_an_openai_shaped_404(fake: FakeOpenAI) -> None:
    answer = post(fake, completion(), path="/v1/completions")
    assert answer.status == 404
    assert json.loads(answer.read())["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        pytest.param(
            Fault("status", status=429, retry_after="3", message="slow down"),
            {
                "message": "slow down",
                "type": "requests",
                "param": None,
                "code": "rate_limit_exceeded",
            },
            id="429",
        ),
        pytest.param(
            Fault("status", status=500),
            {"message": "scripted failure", "type": "server_error", "param": None, "code": None},
            id="500",
        ),
        pytest.param(
            Fault("status", status=400, error_type="content_filter"),
            {"message": "scripted failure", "type": "content_filter", "param": None, "code": None},
            id="scripted-type",
        ),
    ],
)
def test_status_faults_answer_openais_error_document(
    fault: Fault, error: dict[str, Any], fake: FakeOpenAI
) -> None:
    fake.queue(Reply(fault=fault))
    answer = post(fake, completion())
    assert answer.status == fault.status
    assert answer.getheader("Retry-After") == fault.retry_after
    assert json.loads(answer.read()) == {"error": error}


def test_an_in_stream_error_is_a_data_event_and_the_stream_ends(fake: FakeOpenAI) -> None:
    fake.queue(Reply(fault=Fault("in_stream_error", after_chunks=1, message="oops")))
    raw = post(fake, completion()).read()
    chunks = chunks_of(raw)
    assert chunks[-1] == {
        "error": {"message": "oops", "type": "server_error", "param": None, "code": None}
    }
    assert chunks[1]["choices"][0]["delta"]["content"] == "Hello"
    assert b"[DONE]" not in raw


def test_a_malformed_fault_sends_a_line_that_is_not_json(fake: FakeOpenAI) -> None:
    fake.queue(Reply(fault=Fault("malformed", after_chunks=1)))
    lines = post(fake, completion()).read().decode().splitlines()
    data = [line.removeprefix("data: ") for line in lines if line.startswith("data: ")]
    with pytest.raises(json.JSONDecodeError):
        json.loads(data[-1])


def test_with_an_api_key_any_other_token_is_refused_and_quoted_back() -> None:
    with FakeOpenAI(api_key="sk-right") as fake:
        refused = post(fake, completion(), key="sk-wrong")
        assert refused.status == 401
        document = json.loads(refused.read())
        assert document["error"]["code"] == "invalid_api_key"
        assert "sk-wrong" in document["error"]["message"]
        assert post(fake, completion(), key="sk-right").status == 200


def test_hugging_face_fake_sends_tgi_shaped_errors() -> None:
    with FakeHuggingFace() as fake:
        fake.queue(
            Reply(fault=Fault("status", status=503, message="loading")),
            Reply(fault=Fault("in_stream_error", error_type="overloaded", message="busy")),
        )
        answer = post(fake, completion())
        assert json.loads(answer.read()) == {
            "error": "loading",
            "error_type": "service_unavailable",
        }
        chunks = chunks_of(post(fake, completion()).read())
        assert chunks[-1] == {"error": "busy", "error_type": "overloaded"}
