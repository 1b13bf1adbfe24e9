"""The client dialects as the fault suite drives them: the request body of each, and a
strict reader that checks the response against the dialect's documented shape and reduces
it to an :class:`Observed` outcome.

A reader fails the test on any departure from the protocol: an SSE stream without exactly
one terminal event, or with anything after it; an event cut in half; an OpenAI stream whose
``[DONE]`` is missing or not last; a Vercel stream whose ``finish`` does not close it; an
error body with fields the dialect does not define.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from tests.faults.anthropic_reader import PING_EVENT, read_messages, read_messages_stream
from tests.protocols.sse_reader import read_json_events, read_sse

from llmrelay.http import HttpResponse
from llmrelay.sse import PING

__all__ = ["DIALECTS", "Dialect", "Observed"]

PROMPT = "Hi"
_NATIVE_ERROR_FIELDS = {"code", "message", "retryable", "retry_after"}
_OPENAI_ERROR_FIELDS = {"message", "type", "code", "param"}


@dataclass(frozen=True)
class Observed:
    """What a client of the dialect saw, reduced to what the fault table speaks of.

    ``code`` is ``None`` for a complete answer. ``in_band`` says the error came inside a
    200 stream (after the first byte) rather than as the response's HTTP status.
    ``models`` are the answering model as every part of the response names it.
    ``output_tokens`` is the usage the terminal event carries, when the dialect has one.
    """

    status: int
    text: str = ""
    code: str | None = None
    in_band: bool = False
    retryable: bool | None = None
    models: tuple[str, ...] = ()
    output_tokens: int | None = None
    retry_after: str | None = None
    pings: bool = False


Reader = Callable[[HttpResponse, bytes], Observed]


@dataclass(frozen=True)
class Dialect:
    name: str
    path: str
    streamed: bool
    body: Callable[[str], dict[str, Any]]
    read: Reader
    ping: bytes = PING  # what a keep-alive looks like in this dialect

    def observe(self, response: HttpResponse, raw: bytes) -> Observed:
        """The outcome, checked against the dialect's shape."""
        return replace(self.read(response, raw), pings=self.ping in raw)


def _content_type(response: HttpResponse) -> str:
    return response.headers.get("content-type", "")


def _json_error(response: HttpResponse, raw: bytes, fields: set[str]) -> dict[str, Any]:
    assert response.status >= 400, f"an error body with status {response.status}"
    assert _content_type(response) == "application/json", response.headers
    document = json.loads(raw)
    assert set(document) == {"error"}, document
    error: dict[str, Any] = document["error"]
    assert {"code", "message"} <= set(error) <= fields, error
    assert isinstance(error["message"], str)
    assert error["message"]
    return error


def _native_error(response: HttpResponse, raw: bytes) -> Observed:
    """``{"error": {"code", "message", "retryable", ["retry_after"]}}``."""
    error = _json_error(response, raw, _NATIVE_ERROR_FIELDS)
    assert isinstance(error["retryable"], bool)
    return Observed(
        response.status,
        code=error["code"],
        retryable=error["retryable"],
        retry_after=response.headers.get("retry-after"),
    )


def _openai_error(response: HttpResponse, raw: bytes) -> Observed:
    """OpenAI's ``{"error": {"message", "type", "code", "param"}}``."""
    error = _json_error(response, raw, _OPENAI_ERROR_FIELDS)
    assert set(error) == _OPENAI_ERROR_FIELDS, error
    retry_after = response.headers.get("retry-after")
    return Observed(response.status, code=error["code"], retry_after=retry_after)


def _sse_body(response: HttpResponse, raw: bytes) -> None:
    assert response.status == 200
    assert _content_type(response).startswith("text/event-stream"), response.headers
    assert raw.endswith(b"\n\n"), f"the stream ends inside an event: {raw[-80:]!r}"


# -- native ------------------------------------------------------------------------------


_NATIVE_PIECES = {"delta", "block_start", "reasoning", "tool_input", "block_end"}


def _read_native_stream(response: HttpResponse, raw: bytes) -> Observed:
    if response.status != 200:
        return _native_error(response, raw)
    _sse_body(response, raw)
    events = read_json_events(raw)
    names = [name for name, _ in events]
    assert names[0] == "meta", names
    assert set(names[1:-1]) <= _NATIVE_PIECES, f"a terminal event before the end: {names}"
    last, data = events[-1]
    meta = events[0][1]
    text = "".join(item["text"] for name, item in events if name == "delta")
    if last == "done":
        assert {"finish_reason", "usage", "timings", "model"} <= set(data), data
        return Observed(200, text, models=(meta["model"], data["model"]))
    assert last == "error", f"the stream ended without a terminal event: {names}"
    assert (
        {"code", "message", "retryable", "usage"} <= set(data) <= _NATIVE_ERROR_FIELDS | {"usage"}
    )
    return Observed(
        200,
        text,
        code=data["code"],
        in_band=True,
        retryable=data["retryable"],
        models=(meta["model"],),
        output_tokens=data["usage"]["output_tokens"],
    )


def _read_native_batch(response: HttpResponse, raw: bytes) -> Observed:
    if response.status != 200:
        return _native_error(response, raw)
    assert _content_type(response) == "application/json"
    document = json.loads(raw)
    fields = {"id", "model", "text", "finish_reason", "usage"}
    assert fields <= set(document) <= {*fields, "blocks"}, document
    return Observed(200, document["text"], models=(document["model"],))


# -- OpenAI ------------------------------------------------------------------------------


def _openai_terminal(documents: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The in-band error document, if the stream ended in one (checking it is last)."""
    errors = [index for index, document in enumerate(documents) if "error" in document]
    finishes = [
        index
        for index, document in enumerate(documents)
        if document.get("choices") and document["choices"][0]["finish_reason"] is not None
    ]
    assert len(errors) + len(finishes) == 1, f"not exactly one terminal chunk: {documents}"
    if finishes:
        tail = documents[finishes[0] + 1 :]
        # With include_usage, one last chunk with empty choices carries the usage.
        assert [document["choices"] for document in tail] == [[]], tail
        return None
    assert errors == [len(documents) - 1], "chunks after the in-band error"
    error: dict[str, Any] = documents[-1]["error"]
    assert set(error) == _OPENAI_ERROR_FIELDS, error
    return error


def _read_openai_stream(response: HttpResponse, raw: bytes) -> Observed:
    if response.status != 200:
        return _openai_error(response, raw)
    _sse_body(response, raw)
    events = read_sse(raw)
    assert {event.event for event in events} == {"message"}, "OpenAI streams name no events"
    datas = [event.data for event in events]
    assert datas[-1] == "[DONE]", f"the stream does not end with [DONE]: {datas[-3:]}"
    assert datas.count("[DONE]") == 1
    documents = [json.loads(data) for data in datas[:-1]]
    first = documents[0]["choices"][0]["delta"]
    assert first == {"role": "assistant", "content": ""}, first
    chunks = [document for document in documents if "error" not in document]
    assert {chunk["object"] for chunk in chunks} == {"chat.completion.chunk"}
    text = "".join(
        chunk["choices"][0]["delta"].get("content", "") for chunk in chunks if chunk["choices"]
    )
    models = tuple(dict.fromkeys(chunk["model"] for chunk in chunks))
    error = _openai_terminal(documents)
    if error is None:
        return Observed(200, text, models=models)
    return Observed(200, text, code=error["code"], in_band=True, models=models)


def _read_openai_batch(response: HttpResponse, raw: bytes) -> Observed:
    if response.status != 200:
        return _openai_error(response, raw)
    assert _content_type(response) == "application/json"
    document = json.loads(raw)
    assert document["object"] == "chat.completion", document
    message = document["choices"][0]["message"]
    return Observed(200, message["content"], models=(document["model"],))


# -- Vercel AI SDK -----------------------------------------------------------------------


def _vercel_error(response: HttpResponse, raw: bytes) -> Observed:
    """The human message as plain text (what ``useChat`` shows), the code in a header."""
    assert response.status >= 400, f"an error body with status {response.status}"
    assert _content_type(response) == "text/plain; charset=utf-8", response.headers
    assert raw.decode(), raw
    assert not raw.startswith(b"{"), raw
    code = response.headers["x-llmrelay-error-code"]
    return Observed(response.status, code=code, retry_after=response.headers.get("retry-after"))


def _read_vercel(response: HttpResponse, raw: bytes) -> Observed:
    if response.status != 200:
        return _vercel_error(response, raw)
    _sse_body(response, raw)
    assert response.headers.get("x-vercel-ai-ui-message-stream") == "v1"
    datas = [event.data for event in read_sse(raw)]
    assert datas[-1] == "[DONE]", f"the stream does not end with [DONE]: {datas[-3:]}"
    assert datas.count("[DONE]") == 1
    parts = [json.loads(data) for data in datas[:-1]]
    kinds = [part["type"] for part in parts]
    assert kinds[:2] == ["start", "start-step"], kinds
    assert kinds[-2:] == ["finish-step", "finish"], f"the stream does not end with finish: {kinds}"
    assert kinds.count("finish") == 1
    assert kinds.count("error") <= 1, kinds
    assert kinds.count("data-llmrelay-error") == kinds.count("error"), kinds
    text = "".join(part["delta"] for part in parts if part["type"] == "text-delta")
    finish = parts[-1]
    metadata = finish["messageMetadata"]
    models = (metadata["model"],)
    if "error" not in kinds:
        assert finish["finishReason"] != "error"
        return Observed(200, text, models=models)
    assert kinds[-3] == "error", f"parts between the error and the finish: {kinds}"
    assert finish["finishReason"] == "error"
    assert kinds[-4] == "data-llmrelay-error", kinds
    data = parts[-4]["data"]
    assert parts[-4]["transient"] is True
    assert data["message"], parts[-4]
    assert parts[-3]["errorText"] == data["message"], parts[-3]
    return Observed(
        200,
        text,
        code=data["code"],
        retryable=data["retryable"],
        in_band=True,
        models=models,
        output_tokens=metadata["usage"]["outputTokens"],
    )


# -- OpenAI Responses --------------------------------------------------------------------

_RESPONSES_TERMINAL = {"response.completed", "response.incomplete", "response.failed"}


def _read_responses_stream(response: HttpResponse, raw: bytes) -> Observed:
    """Named events whose ``type`` matches the name, ``sequence_number`` 0, 1, ...; created
    and in_progress first; exactly one terminal event, last; no ``[DONE]``."""
    if response.status != 200:
        return _openai_error(response, raw)
    _sse_body(response, raw)
    events = read_sse(raw)
    documents = [json.loads(event.data) for event in events]
    assert [event.event for event in events] == [d["type"] for d in documents], events
    assert [d["sequence_number"] for d in documents] == list(range(len(documents)))
    kinds = [d["type"] for d in documents]
    assert kinds[:2] == ["response.created", "response.in_progress"], kinds
    assert len(_RESPONSES_TERMINAL.intersection(kinds)) == 1, kinds
    assert sum(kind in _RESPONSES_TERMINAL for kind in kinds) == 1, kinds
    assert kinds[-1] in _RESPONSES_TERMINAL, f"the stream does not end with its outcome: {kinds}"
    text = "".join(d["delta"] for d in documents if d["type"] == "response.output_text.delta")
    final = documents[-1]["response"]
    models = (documents[0]["response"]["model"], final["model"])
    if kinds[-1] != "response.failed":
        assert final["error"] is None, final
        return Observed(200, text, models=models)
    assert set(final["error"]) == {"code", "message", "param"}, final["error"]
    assert final["error"]["message"], final["error"]
    return Observed(
        200,
        text,
        code=final["error"]["code"],
        in_band=True,
        models=models,
        output_tokens=final["usage"]["output_tokens"],
    )


def _read_responses_batch(response: HttpResponse, raw: bytes) -> Observed:
    if response.status != 200:
        return _openai_error(response, raw)
    assert _content_type(response) == "application/json"
    document = json.loads(raw)
    assert document["object"] == "response", document
    assert document["status"] == "completed", document
    text = "".join(
        part["text"]
        for item in document["output"]
        if item["type"] == "message"
        for part in item["content"]
        if part["type"] == "output_text"
    )
    return Observed(200, text, models=(document["model"],))


# -- Anthropic Messages (see .anthropic_reader) ------------------------------------------


def _read_anthropic_stream(response: HttpResponse, raw: bytes) -> Observed:
    return Observed(**read_messages_stream(response, raw))


def _read_anthropic(response: HttpResponse, raw: bytes) -> Observed:
    return Observed(**read_messages(response, raw))


# -- bodies ----------------------------------------------------------------------------


def _messages() -> list[dict[str, str]]:
    return [{"role": "user", "content": PROMPT}]


def _native(model: str) -> dict[str, Any]:
    return {"model": model, "messages": _messages()}


def _native_batch(model: str) -> dict[str, Any]:
    return {"model": model, "messages": _messages(), "stream": False}


def _openai(model: str) -> dict[str, Any]:
    options = {"include_usage": True}
    return {"model": model, "messages": _messages(), "stream": True, "stream_options": options}


def _use_chat(model: str) -> dict[str, Any]:
    """What the ``ai`` package's ``DefaultChatTransport`` sends, with the model in ``body``."""
    message = {"id": "msg-1", "role": "user", "parts": [{"type": "text", "text": PROMPT}]}
    return {"id": "chat-1", "messages": [message], "trigger": "submit-message", "model": model}


def _responses(model: str) -> dict[str, Any]:
    return {"model": model, "input": PROMPT, "stream": True}


def _responses_batch(model: str) -> dict[str, Any]:
    return {"model": model, "input": PROMPT}


def _anthropic(model: str) -> dict[str, Any]:
    """What ``anthropic``'s ``messages.stream(...)`` sends (``max_tokens`` is required)."""
    return {"model": model, "max_tokens": 256, "messages": _messages(), "stream": True}


def _anthropic_batch(model: str) -> dict[str, Any]:
    return {"model": model, "max_tokens": 256, "messages": _messages()}


DIALECTS: tuple[Dialect, ...] = (
    Dialect("native", "/chat", True, _native, _read_native_stream),
    Dialect("batch", "/chat", False, _native_batch, _read_native_batch),
    Dialect("openai", "/v1/chat/completions", True, _openai, _read_openai_stream),
    # An OpenAI request without "stream" is answered whole.
    Dialect("openai_batch", "/v1/chat/completions", False, _native, _read_openai_batch),
    Dialect("vercel", "/api/chat", True, _use_chat, _read_vercel),
    Dialect("responses", "/v1/responses", True, _responses, _read_responses_stream),
    Dialect("responses_batch", "/v1/responses", False, _responses_batch, _read_responses_batch),
    Dialect("anthropic", "/v1/messages", True, _anthropic, _read_anthropic_stream, ping=PING_EVENT),
    Dialect("anthropic_batch", "/v1/messages", False, _anthropic_batch, _read_anthropic),
)
