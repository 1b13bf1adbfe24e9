"""Whatever a client sends to whichever route, the function answers with a well-formed
response: never a 5xx, never a traceback, never a secret.

Thousands of generated requests (methods, paths, headers, bodies: random bytes, random
JSON, mutations of each dialect's valid request, huge and deeply nested documents, wrong
types per field) go through the buffered ``handler(event, context)`` path, as
``sam local invoke`` and ``aws lambda invoke`` call it, with client keys required, CORS
on and the secret holding canary keys; then a smaller run through the real
``functions/chat/app.py`` handler. :mod:`tests.gateway.test_fuzz` covers the shapes of
``/chat``'s answers; this file covers every route, method, header and the auth and CORS
layers around them.

The runs are derandomized and bounded (about 10 s). ``LLMRELAY_PROPERTY_EXAMPLES=20000``
makes a longer, randomized run, e.g.
``LLMRELAY_PROPERTY_EXAMPLES=20000 .venv/bin/python -m pytest tests/gateway/test_properties.py``.
"""

from __future__ import annotations

import base64
import json
import os
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from tests.gateway.fakes import Context
from tests.leakscan import CANARY_CLIENT_KEY, CANARY_SECRETS, LeakScanner
from tests.protocols.sse_reader import read_json_events

from llmrelay.config import get_settings
from llmrelay.gateway import GatewayOptions, build_app
from llmrelay.gateway.auth import hash_key, is_open, presented_keys
from llmrelay.http import HttpRequest
from llmrelay.runtime import StreamingHandler, streaming_handler
from llmrelay.runtime.event import to_request
from llmrelay.secrets import StaticSecrets

_LONG_RUN = int(os.environ.get("LLMRELAY_PROPERTY_EXAMPLES", "0") or 0)
SETTINGS = settings(
    max_examples=_LONG_RUN or 2000,
    derandomize=not _LONG_RUN,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

ORIGIN = "https://app.example.com"
MAX_BODY = 16_384
MAX_CONTENT = 200
MAX_MESSAGES = 8
# Every code a bad request may get; anything else (internal_error above all) fails the test.
CLIENT_ERRORS = {
    "invalid_json",
    "invalid_request",
    "method_not_allowed",
    "not_found",
    "origin_not_allowed",
    "payload_too_large",
    "unauthorized",
    "unknown_model",
    "unsupported_parameter",
    "model_not_found",
}

# --- what a client may send ---------------------------------------------------------------

ODD = ["\ud800", "\udfff", "\x00", "\u2028", "\r", "\n", '"', "\\", "\ufeff", "é", "🦙"]
TEXT = st.text(st.characters(exclude_categories=()) | st.sampled_from(ODD), max_size=24)
JSON: st.SearchStrategy[object] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=16,
)
MESSAGE = {"role": "user", "content": "hello property world"}
VALID: Mapping[str, dict[str, Any]] = {
    "/chat": {"model": "echo/echo", "messages": [MESSAGE]},
    "/v1/chat/completions": {"model": "echo/echo", "messages": [MESSAGE], "stream": True},
    "/api/chat": {
        "id": "chat-1",
        "model": "echo/echo",
        "messages": [
            {"id": "m1", "role": "user", "parts": [{"type": "text", "text": "hello there"}]}
        ],
        "trigger": "submit-message",
    },
    "/v1/responses": {"model": "echo/echo", "input": "hello property world", "stream": True},
    "/v1/messages": {"model": "echo/echo", "max_tokens": 64, "messages": [MESSAGE], "stream": True},
}
MAX_IMAGE = 1024
_PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * (MAX_IMAGE + 64)).decode()
_FN: Any = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
# Near misses beyond text: each must be a 4xx naming its field, or an answer (never a 500).
BEYOND: list[dict[str, Any]] = [
    {"tools": [{"type": "function", "function": {"name": "bad name!", "parameters": {}}}]},
    {"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "string"}}}]},
    {"tools": [{"type": "function", "function": {"name": "f", "parameters": []}}]},
    {"tools": [{"type": "function", "function": {"name": "f", "parameters": {"$ref": "#/x"}}}]},
    {"tools": [_FN] * 130},
    {"tools": [_FN, _FN]},
    {"tools": [{"type": "retrieval"}]},
    {"tool_choice": {"type": "function", "function": {"name": "nope"}}, "tools": [_FN]},
    {"tool_choice": "sometimes"},
    {"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": []}}},
    {"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}},
    {"response_format": {"type": "yaml"}},
    {"messages": [MESSAGE, {"role": "tool", "tool_call_id": "unknown", "content": "x"}]},
    {"messages": [MESSAGE, {"role": "tool", "content": "no id"}]},
    {
        "messages": [
            {
                "role": "assistant",
                "content": [{"type": "tool_call", "id": "c1", "name": "f", "arguments": "{broken"}],
            },
            MESSAGE,
        ]
    },
    {
        "messages": [
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "[1]"}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "ok"},
        ]
    },
    {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "image", "data": "!!!", "media_type": "image/png"}],
            }
        ]
    },
    {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "image", "data": _PNG, "media_type": "image/png"}],
            }
        ]
    },
    {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{_PNG}"}}
                ],
            }
        ]
    },
    {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,%%"}}
                ],
            }
        ]
    },
    {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "file", "data": "JVBERi0=", "media_type": "application/x-evil"}
                ],
            }
        ]
    },
    {
        "messages": [
            {"role": "user", "content": [{"type": "reasoning", "text": "x", "signature": ""}]}
        ]
    },
    {"stop": ["x"] * 20},
    {"stop": ""},
    {"top_p": 2},
    {"seed": "x"},
    {"reasoning_effort": "maximal"},
    {"parallel_tool_calls": "yes"},
    {"input": [{"type": "function_call_output", "call_id": "nope", "output": "x"}]},
    {"input": [{"type": "reasoning", "encrypted_content": "llmrelay.v1.!!", "summary": []}]},
    {"thinking": {"type": "enabled", "budget_tokens": 10**9}},
    {"system": [{"type": "image"}]},
]
FIELDS = [
    "model",
    "messages",
    "temperature",
    "max_tokens",
    "stream",
    "context_id",
    "thread_id",
    "user",
    "stream_options",
    "n",
    "tools",
    "parts",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "stop",
    "top_p",
    "seed",
    "reasoning_effort",
    "input",
    "instructions",
    "system",
    "thinking",
    "text",
]
# Never a configured provider's model: those would go upstream (see the report on 503s).
MODELS = ["echo", "/echo", "echo/", "", " ", "ECHO/x", "acme/x", "../../x", "echo/" + "x" * 300]
PATHS = [
    *VALID,
    "/v1/models",
    "/health",
    "/",
    "",
    "/chat/",
    "//chat",
    "/CHAT",
    "/v1",
    "/v1/models/echo",
    "/v1/models/echo/echo",
    "/v1/models/%2e%2e",
    "/../chat",
    "/chat%2F",
    "/favicon.ico",
    "/health/x",
]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE", "post", "get"]


def _deep(depth: int, closed: bool) -> bytes:
    inner = b"[" * depth + (b"]" * depth if closed else b"")
    return b'{"messages": ' + inner + b"}"


@st.composite
def mutated(draw: st.DrawFn, path: str) -> bytes:
    """A valid request of ``path``'s dialect (or /chat's), then one change to it."""
    doc = json.loads(json.dumps(VALID.get(path, VALID["/chat"])))
    kind = draw(
        st.sampled_from(
            [
                "valid",
                "drop",
                "retype",
                "unknown",
                "many",
                "long",
                "model",
                "message",
                "deep",
                "beyond",
                "beyond",
            ]
        )
    )
    event(f"mutation {kind}")
    # The list of messages to change: the Responses API's ``input`` takes messages too.
    turns = "messages" if "messages" in doc else "input"
    if kind in ("many", "long", "message") and not isinstance(doc.get(turns), list):
        doc[turns] = [dict(MESSAGE)]
    if kind == "drop" and doc:
        doc.pop(draw(st.sampled_from(sorted(doc))))
    elif kind == "retype":
        doc[draw(st.sampled_from(FIELDS))] = draw(JSON)
    elif kind == "unknown":
        doc[draw(TEXT)] = draw(JSON)
    elif kind == "many":
        doc[turns] = doc[turns] * draw(st.integers(MAX_MESSAGES + 1, 60))
    elif kind == "long":
        text = draw(st.sampled_from("xé🦙 ")) * draw(st.integers(MAX_CONTENT + 1, 4000))
        first = doc[turns][0]
        first["parts" if "parts" in first else "content"] = (
            [{"type": "text", "text": text}] if "parts" in first else text
        )
    elif kind == "model":
        doc["model"] = draw(st.sampled_from(MODELS) | TEXT)
    elif kind == "message":
        doc[turns][0][draw(st.sampled_from(["role", "content", "parts", "id", "x"]))] = draw(JSON)
    elif kind == "deep":
        return _deep(draw(st.integers(1, 20_000)), draw(st.booleans()))
    elif kind == "beyond":
        doc.update(json.loads(json.dumps(draw(st.sampled_from(BEYOND)))))
    return json.dumps(doc, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")


def bodies(path: str) -> st.SearchStrategy[bytes]:
    huge = st.integers(MAX_BODY + 1, 4 * MAX_BODY).map(
        lambda n: json.dumps({"messages": [{"role": "user", "content": "x" * n}]}).encode()
    )
    return st.one_of(
        st.just(b""),
        st.binary(max_size=200),
        JSON.map(lambda doc: json.dumps(doc).encode("utf-8", "surrogatepass")),
        mutated(path),
        mutated(path),
        mutated(path),
        huge,
    )


# Built once: making strategies per example costs more than running the example.
BODIES = {path: bodies(path) for path in VALID}


def _with(name: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, str]]:
    return st.one_of(st.just({}), values.map(lambda value: {name: value}))


KEYS = st.one_of(
    st.just({}),
    st.just({"authorization": f"Bearer {CANARY_CLIENT_KEY}"}),
    st.just({"x-api-key": CANARY_CLIENT_KEY}),
    st.just({"authorization": f"bearer {CANARY_CLIENT_KEY}x"}),
    st.just({"authorization": f"Basic {CANARY_CLIENT_KEY}"}),
    TEXT.map(lambda key: {"authorization": f"Bearer {key}"}),
    TEXT.map(lambda key: {"x-api-key": key}),
    TEXT.map(lambda value: {"authorization": value}),
)
HEADER_NAMES = st.text(string.ascii_lowercase + "-", min_size=1, max_size=16)
ACCEPT = st.sampled_from(["application/json", "text/event-stream", "*/*", "text/html;q=0"]) | TEXT


HEADER_PARTS = [
    st.dictionaries(HEADER_NAMES, TEXT, max_size=3),
    _with("origin", st.sampled_from([ORIGIN, "https://evil.example"]) | TEXT),
    _with("access-control-request-method", st.sampled_from(["POST"]) | TEXT),
    _with("accept", ACCEPT),
    _with("content-type", st.just("application/json") | TEXT),
    KEYS,
]


@st.composite
def headers(draw: st.DrawFn) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in HEADER_PARTS:
        found.update(draw(part))
    return found


@dataclass(frozen=True)
class Sent:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    base64: bool

    def event(self) -> dict[str, object]:
        """The function-URL event (payload 2.0) for this request."""
        encoded = self.base64 or not _is_utf8(self.body)
        body = base64.b64encode(self.body).decode() if encoded else self.body.decode()
        return {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": self.path,
            "rawQueryString": "",
            "headers": self.headers,
            "requestContext": {
                "http": {"method": self.method, "path": self.path, "sourceIp": "203.0.113.9"},
                "requestId": "property-request",
            },
            "body": body,
            "isBase64Encoded": encoded,
        }

    @property
    def request(self) -> HttpRequest:
        """The request the function sees (an empty method is ``GET``, as Lambda has it)."""
        return to_request(self.event())


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


ROUTES = [("POST", path) for path in VALID] + [
    ("GET", "/v1/models"),
    ("GET", "/health"),
    ("OPTIONS", "/chat"),
    ("GET", "/v1/models/echo/echo"),
]
VALID_KEY = st.sampled_from(
    [{"authorization": f"Bearer {CANARY_CLIENT_KEY}"}, {"x-api-key": CANARY_CLIENT_KEY}]
)


@st.composite
def requests(draw: st.DrawFn) -> Sent:
    """Seven in ten aimed at a route with a valid key (so that bodies reach validation),
    the rest anything at all."""
    sent_headers = draw(headers())
    if draw(st.integers(0, 9)) < 7:
        method, path = draw(st.sampled_from(ROUTES))
        sent_headers.update(draw(VALID_KEY))
    else:
        method = draw(st.sampled_from(METHODS) | st.text(string.ascii_letters, max_size=8))
        path = draw(st.sampled_from(PATHS) | TEXT.map(lambda text: "/" + text))
    body = draw(BODIES.get(path, BODIES["/chat"]))
    return Sent(method, path, sent_headers, body, draw(st.booleans()))


# --- what every answer must be ------------------------------------------------------------


def answer_text(result: Mapping[str, Any]) -> str:
    body = result["body"]
    if result["isBase64Encoded"]:
        return base64.b64decode(body).decode("utf-8", "replace")
    assert isinstance(body, str)
    return body


def check_well_formed(sent: Sent, result: Mapping[str, Any], scan: LeakScanner) -> None:
    status, headers = result["statusCode"], result["headers"]
    text = answer_text(result)
    event(f"status {status}")
    scan.scan(json.dumps(headers), f"{sent.method} {sent.path[:40]!r} headers")
    scan.scan(text, f"{sent.method} {sent.path[:40]!r} body")
    assert 200 <= status < 500, text[:500]
    assert "Traceback" not in text
    assert 'File "' not in text
    assert "internal_error" not in text
    if status >= 400 and "x-llmrelay-error-code" in headers:  # /api/chat: what useChat shows
        assert headers["content-type"] == "text/plain; charset=utf-8"
        assert text
        assert headers["x-llmrelay-error-code"] in CLIENT_ERRORS, headers
    elif status >= 400:
        assert headers["content-type"] == "application/json"
        error = json.loads(text)["error"]
        assert isinstance(error["message"], str)
        code = error.get("code") or error.get("details", {}).get("error_code")  # Anthropic's
        assert code in CLIENT_ERRORS, error
    if status == 401:
        assert headers["www-authenticate"].startswith("Bearer")
    if status == 200:
        check_complete(sent.request, headers["content-type"], text)


def check_complete(request: HttpRequest, content_type: str, text: str) -> None:
    """A 200 is a whole answer: a stream ends with its dialect's terminal event (and the
    answer to HEAD is the GET's without its body)."""
    if request.method.upper() == "HEAD":
        assert not text
        return
    assert text
    if not content_type.startswith("text/event-stream"):
        return
    path = request.path.rstrip("/")
    if path == "/chat":
        assert read_json_events(text.encode())[-1][0] == "done"
    elif path == "/v1/responses":
        assert read_json_events(text.encode())[-1][0] == "response.completed"
    elif path == "/v1/messages":
        assert read_json_events(text.encode())[-1][0] == "message_stop"
    else:
        assert text.endswith("data: [DONE]\n\n")


def _preflight(request: HttpRequest) -> bool:
    return bool(
        request.method == "OPTIONS"
        and request.header("origin")
        and request.header("access-control-request-method")
    )


def check_access(sent: Sent, result: Mapping[str, Any]) -> None:
    """The auth and CORS layers' own promises."""
    status, headers = result["statusCode"], result["headers"]
    request = sent.request
    origin = request.header("origin")
    valid = CANARY_CLIENT_KEY in presented_keys(request)
    if _preflight(request):
        assert status == (204 if origin == ORIGIN else 403)
    elif not is_open(request):
        assert (status == 401) is not valid
    if origin == ORIGIN:
        assert headers["access-control-allow-origin"] == ORIGIN
    else:
        assert "access-control-allow-origin" not in headers
    assert "origin" in headers["vary"]


# --- the runs -----------------------------------------------------------------------------


@pytest.fixture
def protected_handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[StreamingHandler]:
    """The app as deployed with ``AuthType: NONE``, CORS on, small limits, canary keys, and
    every keyed provider pointed at a closed port (no request may ever reach one)."""
    monkeypatch.setenv("LLMRELAY_AUTH", "api_key")
    monkeypatch.setenv("LLMRELAY_CORS_ORIGINS", ORIGIN)
    monkeypatch.setenv("LLMRELAY_MAX_CONTENT_CHARS", str(MAX_CONTENT))
    monkeypatch.setenv("LLMRELAY_MAX_MESSAGES", str(MAX_MESSAGES))
    monkeypatch.setenv("LLMRELAY_MAX_IMAGE_BYTES", str(MAX_IMAGE))
    for provider in ("OPENAI", "ANTHROPIC", "HUGGINGFACE", "GROQ", "GEMINI", "COMPAT"):
        monkeypatch.setenv(f"LLMRELAY_{provider}_BASE_URL", "http://127.0.0.1:9/v1")
    get_settings.cache_clear()
    digests = [hash_key(f"decoy-{n}") for n in range(20)] + [hash_key(CANARY_CLIENT_KEY)]
    secrets = StaticSecrets({**CANARY_SECRETS, "CLIENT_API_KEY_HASHES": json.dumps(digests)})
    app = build_app(options=GatewayOptions(max_body_bytes=MAX_BODY), secrets=secrets)
    handler = streaming_handler(app)
    yield handler
    handler.close()


@SETTINGS
@given(sent=requests())
def test_any_request_to_the_protected_function_gets_a_well_formed_answer(
    protected_handler: StreamingHandler, leak_scan: LeakScanner, sent: Sent
) -> None:
    result = protected_handler(sent.event(), Context())
    check_well_formed(sent, result, leak_scan)
    check_access(sent, result)


@pytest.fixture
def function() -> ModuleType:
    """The real ``functions/chat/app.py`` (built on first import, with the test's clean
    environment: no auth, no CORS, default limits)."""
    import app

    return app


@settings(SETTINGS, max_examples=max(_LONG_RUN // 4, 500))
@given(sent=requests())
def test_any_request_to_the_real_function_handler_gets_a_well_formed_answer(
    function: ModuleType, leak_scan: LeakScanner, sent: Sent
) -> None:
    result = function.handler(sent.event(), Context())
    check_well_formed(sent, result, leak_scan)


@pytest.mark.parametrize("path", ["/chat", "/v1/chat/completions"])
@pytest.mark.parametrize("change", BEYOND, ids=[f"beyond-{n}" for n in range(len(BEYOND))])
def test_each_near_miss_beyond_text_is_refused_naming_its_field(
    protected_handler: StreamingHandler, path: str, change: dict[str, Any]
) -> None:
    """Every case of :data:`BEYOND` is a 400 before any upstream call, naming its field,
    except a tool schema with a dangling ``$ref``, which the upstream judges."""
    doc = {"model": "echo/echo", "messages": [MESSAGE], "stream": False, **change}
    key = {"authorization": f"Bearer {CANARY_CLIENT_KEY}"}
    sent = Sent("POST", path, key, json.dumps(doc).encode(), False)
    result = protected_handler(sent.event(), Context())
    text = answer_text(result)
    if "$ref" in json.dumps(change) and path == "/v1/chat/completions":
        assert result["statusCode"] == 200, text
        return
    assert result["statusCode"] == 400, text
    error = json.loads(text)["error"]
    assert error["code"] == "invalid_request"
    field = error["message"].partition(":")[0]
    assert field.split(".")[0] in {*doc, "messages", "body"}, error["message"]
