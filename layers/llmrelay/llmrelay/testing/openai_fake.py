"""A fake OpenAI Chat Completions API (and Hugging Face's OpenAI-style router).

``POST <base>/chat/completions`` with ``"stream": true`` answers the real wire format, one
``data: <chat.completion.chunk>`` event each::

    role chunk (delta.role + empty content) → one content chunk per piece
    → a chunk with finish_reason → [usage chunk: empty choices + usage] → data: [DONE]

The usage chunk comes only when the request asked ``stream_options.include_usage``, as the
real API does. Without ``stream`` it answers one ``chat.completion`` JSON document. Errors use
OpenAI's body ``{"error": {"message", "type", "param", "code"}}``; an ``in_stream_error``
fault sends such a document as a ``data:`` event on the 200 stream. Any path ending in
``/chat/completions`` is served, so presets whose base URL carries a prefix
(``/v1beta/openai/``) hit it too; ``fake.requests`` shows the path the client used.

Given ``api_key``, the fake answers 401 to any other bearer token and, like the real API,
quotes the token back in its message: the test of every adapter's redaction. Like the real
API, it refuses ``tool_choice`` or ``parallel_tool_calls`` sent without ``tools`` (a 400).
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from llmrelay.httpd import Request, ResponseWriter
from llmrelay.testing.upstream import FakeUpstream, Fault, RecordedRequest, Reply

__all__ = ["FakeHuggingFace", "FakeOpenAI", "bearer_of", "chunks_of"]

_CREATED = 1_700_000_000  # a fixed timestamp keeps every answer byte-for-byte deterministic
_MALFORMED = b'data: {"id": "chatcmpl-broken", "choices": [{"delta": {"content": \n\n'
# OpenAI's documented error type and code, by the HTTP status that carries them.
_ERRORS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    408: ("timeout", None),
    422: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("service_unavailable", None),
}


def bearer_of(request: RecordedRequest | Request) -> str | None:
    """The bearer token a request carried in its ``Authorization`` header."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


def chunks_of(raw: bytes) -> list[dict[str, Any]]:
    """The JSON documents of an OpenAI-style SSE body (``[DONE]`` left out): for tests."""
    lines = raw.decode().splitlines()
    datas = [line.removeprefix("data:").strip() for line in lines if line.startswith("data:")]
    return [json.loads(data) for data in datas if data != "[DONE]"]


def _needs_tools(body: dict[str, Any]) -> str | None:
    """OpenAI's 400 for a tool setting sent without ``tools``."""
    for name in ("tool_choice", "parallel_tool_calls"):
        if name in body and not body.get("tools"):
            allowed = f"'{name}' is only allowed when 'tools' are specified."
            return f"Invalid value for '{name}': {allowed}"
    return None


def _error_type(fault: Fault) -> tuple[str, str | None]:
    # Fault.error_type defaults to Anthropic's "overloaded_error"; an OpenAI-style upstream
    # says what its status implies unless the script names a type of its own.
    if fault.error_type != Fault.error_type:
        return fault.error_type, None
    return _ERRORS.get(
        fault.status, ("server_error" if fault.status >= 500 else "invalid_request_error", None)
    )


class FakeOpenAI(FakeUpstream):
    """``with FakeOpenAI() as fake:``; point the SDK's ``base_url`` at ``fake.url + "/v1"``."""

    def __init__(self, default: Reply | None = None, *, api_key: str | None = None) -> None:
        super().__init__(default)
        self.api_key = api_key
        self._ids = itertools.count(1)

    def __enter__(self) -> FakeOpenAI:
        self.start()
        return self

    # -- documents -------------------------------------------------------------------------

    def error_document(self, error_type: str, message: str, code: str | None) -> dict[str, Any]:
        """The JSON error document (body of a status error, or an in-stream error event)."""
        return {"error": {"message": message, "type": error_type, "param": None, "code": code}}

    def error_body(self, fault: Fault) -> str:
        error_type, code = _error_type(fault)
        return json.dumps(self.error_document(error_type, fault.message, code))

    def _chunk(self, ident: str, model: str, choices: list[Any], **extra: Any) -> bytes:
        chunk = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": _CREATED,
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": choices,
            **extra,
        }
        return b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n\n"

    @staticmethod
    def _choice(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}

    @staticmethod
    def _usage(reply: Reply) -> dict[str, int]:
        prompt, completion = reply.input_tokens, reply.completion_tokens
        usage: dict[str, Any] = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        if reply.cached_tokens:
            usage["prompt_tokens_details"] = {"cached_tokens": reply.cached_tokens}
        if reply.reasoning_tokens:
            usage["completion_tokens_details"] = {"reasoning_tokens": reply.reasoning_tokens}
        return usage

    @staticmethod
    def _tool_deltas(reply: Reply) -> list[dict[str, Any]]:
        """Each call's first delta (id, name, empty arguments), then one per fragment."""
        deltas: list[dict[str, Any]] = []
        for position, call in enumerate(reply.tool_calls):
            index = position if call.index is None else call.index
            function = {"name": call.name, "arguments": ""}
            deltas.append({"index": index, "id": call.id, "type": "function", "function": function})
            deltas.extend(
                {"index": index, "function": {"arguments": fragment}} for fragment in call.fragments
            )
        return deltas

    # -- answering -------------------------------------------------------------------------

    async def answer(
        self, request: Request, body: Any, reply: Reply, response: ResponseWriter
    ) -> None:
        if request.method != "POST" or not request.path.endswith("/chat/completions"):
            document = self.error_document(
                "invalid_request_error", f"no route {request.path}", None
            )
            await response.send(404, json.dumps(document).encode(), self._headers("json"))
            return
        token = bearer_of(request)
        if self.api_key is not None and token != self.api_key:
            message = f"Incorrect API key provided: {token}. You can find your API key at ..."
            document = self.error_document("invalid_request_error", message, "invalid_api_key")
            await response.send(401, json.dumps(document).encode(), self._headers("json"))
            return
        body = body if isinstance(body, dict) else {}
        problem = _needs_tools(body)
        if problem is not None:  # as the real API refuses it
            document = self.error_document("invalid_request_error", problem, None)
            await response.send(400, json.dumps(document).encode(), self._headers("json"))
            return
        model = str(body.get("model", ""))
        if body.get("stream") is True:
            options = body.get("stream_options") or {}
            await self._stream(model, reply, response, usage=bool(options.get("include_usage")))
        else:
            await self._whole(model, reply, response)

    def _headers(self, kind: str) -> list[tuple[str, str]]:
        content_type = "text/event-stream; charset=utf-8" if kind == "sse" else "application/json"
        return [("Content-Type", content_type), ("x-request-id", f"req_fake{next(self._ids)}")]

    async def _whole(self, model: str, reply: Reply, response: ResponseWriter) -> None:
        message = {"role": "assistant", "content": reply.text, "refusal": None}
        document = {
            "id": f"chatcmpl-fake{next(self._ids)}",
            "object": "chat.completion",
            "created": _CREATED,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": reply.finish_reason,
                }
            ],
            "usage": self._usage(reply),
        }
        await response.send(
            200, json.dumps(document, ensure_ascii=False).encode(), self._headers("json")
        )

    async def _stream(
        self, model: str, reply: Reply, response: ResponseWriter, *, usage: bool
    ) -> None:
        await response.start(200, [*self._headers("sse"), ("Cache-Control", "no-cache")])
        ident = f"chatcmpl-fake{next(self._ids)}"
        # With include_usage, the real API puts "usage": null on every chunk but the last.
        extra: dict[str, Any] = {"usage": None} if usage else {}
        first = self._choice({"role": "assistant", "content": "", "refusal": None})
        await self.write_event(response, self._chunk(ident, model, [first], **extra), reply)
        for thought in reply.reasoning:  # as DeepSeek, vLLM and Groq send it
            delta = {"reasoning_content": thought}
            chunk = self._chunk(ident, model, [self._choice(delta)], **extra)
            await self.write_event(response, chunk, reply)
        for index, piece in enumerate(reply.pieces):
            if await self.fault_mid_stream(response, reply, index):
                return
            chunk = self._chunk(ident, model, [self._choice({"content": piece})], **extra)
            await self.write_event(response, chunk, reply)
        for delta in self._tool_deltas(reply):
            chunk = self._chunk(ident, model, [self._choice({"tool_calls": [delta]})], **extra)
            await self.write_event(response, chunk, reply)
        if await self.fault_mid_stream(response, reply, len(reply.pieces)):
            return
        last = self._choice({}, reply.finish_reason)
        await self.write_event(response, self._chunk(ident, model, [last], **extra), reply)
        if usage:
            chunk = self._chunk(ident, model, [], usage=self._usage(reply))
            await self.write_event(response, chunk, reply)
        await self.write_event(response, b"data: [DONE]\n\n", reply)
        await response.end()

    malformed_event = _MALFORMED

    def in_stream_error(self, fault: Fault) -> bytes:
        """The event an upstream sends when it fails after the 200 head."""
        error_type, code = _error_type(fault)
        document = self.error_document(error_type, fault.message, code)
        return b"data: " + json.dumps(document).encode() + b"\n\n"


class FakeHuggingFace(FakeOpenAI):
    """Hugging Face's router and TGI: the same chunks at ``<base>/chat/completions`` (the
    path ``AsyncInferenceClient(base_url=".../v1")`` posts to), but TGI's error shape,
    ``{"error": "<message>", "error_type": "<type>"}``, in bodies and in the stream."""

    def __enter__(self) -> FakeHuggingFace:
        self.start()
        return self

    def error_document(self, error_type: str, message: str, code: str | None) -> dict[str, Any]:
        return {"error": message, "error_type": error_type}
