"""Client API keys: with ``LLMRELAY_AUTH=api_key`` every route but ``/health`` and ``GET /``
needs a key whose SHA-256 digest the secret holds; keys are compared in constant time and
never reach a response or a log line."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from types import SimpleNamespace

import pytest
from tests.gateway.app_client import call
from tests.leakscan import CANARY_CLIENT_KEY, CANARY_SECRETS, LeakScanner

from llmrelay import keytool
from llmrelay.errors import ConfigurationError, MissingKey
from llmrelay.gateway import auth as auth_module
from llmrelay.gateway import build_app
from llmrelay.gateway.auth import (
    auth_mode,
    hash_key,
    is_open,
    key_matches,
    parse_hashes,
    presented_keys,
)
from llmrelay.http import App, HttpRequest
from llmrelay.secrets import StaticSecrets

OTHER_KEY = "llmr-another-valid-client-key-000000"
WRONG_KEY = "llmr-not-a-configured-key-1234567890"
DIGESTS = [hash_key(OTHER_KEY), hash_key(CANARY_CLIENT_KEY)]
HELLO = [{"role": "user", "content": "hello"}]
VERCEL = {
    "id": "chat-1",
    "messages": [{"id": "m1", "role": "user", "parts": [{"type": "text", "text": "hello"}]}],
    "trigger": "submit-message",
}

PROTECTED = [
    pytest.param("POST", "/chat", {"messages": HELLO, "stream": False}, id="chat"),
    pytest.param("POST", "/chat", {"messages": HELLO}, id="chat-streamed"),
    pytest.param("POST", "/v1/chat/completions", {"messages": HELLO}, id="openai"),
    pytest.param("POST", "/api/chat", VERCEL, id="vercel"),
    pytest.param("GET", "/v1/models", b"", id="models"),
]
OPEN = [
    pytest.param("GET", "/health", id="health"),
    pytest.param("GET", "/health/", id="health-slash"),
    pytest.param("GET", "/", id="page"),
]


def secrets_with(hashes: str | None) -> StaticSecrets:
    values = dict(CANARY_SECRETS)
    if hashes is not None:
        values["CLIENT_API_KEY_HASHES"] = hashes
    return StaticSecrets(values)


@pytest.fixture
def api_key_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMRELAY_AUTH", "api_key")


@pytest.fixture
def app(api_key_mode: None) -> App:
    return build_app(secrets=secrets_with(json.dumps(DIGESTS)))


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


# --- the pieces ---------------------------------------------------------------------------


def test_a_key_hashes_to_its_sha256_hex_digest() -> None:
    assert hash_key("test") == "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def test_a_key_with_a_lone_surrogate_still_hashes() -> None:
    assert len(hash_key("\ud800key")) == 64


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(json.dumps(DIGESTS), DIGESTS, id="json-list-in-a-string"),
        pytest.param(",".join(DIGESTS), DIGESTS, id="comma-separated"),
        pytest.param(f" {DIGESTS[0]} ,\n {DIGESTS[1]} ", DIGESTS, id="spaces-and-newlines"),
        pytest.param(json.dumps([d.upper() for d in DIGESTS]), DIGESTS, id="upper-case"),
        pytest.param("[]", [], id="template-default"),
        pytest.param("", [], id="empty"),
    ],
)
def test_digests_are_read_from_a_json_list_or_a_comma_separated_string(
    raw: str, expected: list[str]
) -> None:
    assert parse_hashes(raw) == tuple(d.encode() for d in expected)


def test_entries_that_are_not_digests_are_dropped_without_logging_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parse_hashes.cache_clear()
    raw = json.dumps([CANARY_CLIENT_KEY, DIGESTS[0], 42])
    assert parse_hashes(raw) == (DIGESTS[0].encode(),)
    err = capsys.readouterr().err
    assert "entry 0 is not a SHA-256 hex digest" in err
    assert "entry 2 is not" in err
    assert CANARY_CLIENT_KEY not in err


@pytest.mark.parametrize("raw", ["[not json", '{"a": 1}', "[1, 2"])
def test_a_malformed_list_holds_no_digest(raw: str, capsys: pytest.CaptureFixture[str]) -> None:
    parse_hashes.cache_clear()
    assert parse_hashes(raw) == ()
    assert "holds no digest" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("env", "mode"),
    [
        pytest.param({}, "none", id="unset"),
        pytest.param({"LLMRELAY_AUTH": ""}, "none", id="empty"),
        pytest.param({"LLMRELAY_AUTH": "api_key"}, "api_key", id="api-key"),
        pytest.param({"LLMRELAY_AUTH": " API_KEY "}, "api_key", id="any-case"),
        pytest.param({"LLMRELAY_AUTH": "iam"}, "iam", id="iam"),
        pytest.param({"LLMRELAY_AUTH": "none"}, "none", id="none"),
    ],
)
def test_the_mode_comes_from_llmrelay_auth(env: Mapping[str, str], mode: str) -> None:
    assert auth_mode(env) == mode


def test_an_unknown_mode_is_a_configuration_error_at_build_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LLMRELAY_AUTH", "apikey")
    with pytest.raises(ConfigurationError, match="LLMRELAY_AUTH"):
        build_app()


@pytest.mark.parametrize(
    ("headers", "keys"),
    [
        pytest.param({"authorization": "Bearer k1"}, ["k1"], id="bearer"),
        pytest.param({"authorization": "bearer  k1 "}, ["k1"], id="bearer-any-case"),
        pytest.param({"x-api-key": "k2"}, ["k2"], id="x-api-key"),
        pytest.param({"authorization": "Bearer k1", "x-api-key": "k2"}, ["k1", "k2"], id="both"),
        pytest.param({"authorization": "Basic dTpw"}, [], id="basic"),
        pytest.param({"authorization": "AWS4-HMAC-SHA256 Credential=x"}, [], id="sigv4"),
        pytest.param({"authorization": "Bearer "}, [], id="empty-bearer"),
        pytest.param({}, [], id="none"),
    ],
)
def test_keys_are_read_from_bearer_and_x_api_key(headers: dict[str, str], keys: list[str]) -> None:
    assert presented_keys(HttpRequest("POST", "/chat", headers=headers)) == keys


@pytest.mark.parametrize(
    ("method", "path", "open_"),
    [
        ("GET", "/health", True),
        ("POST", "/health", True),
        ("GET", "/", True),
        ("HEAD", "/", True),
        ("POST", "/", False),
        ("GET", "/chat", False),
        ("GET", "/healthz", False),
        ("GET", "/v1/models", False),
    ],
)
def test_only_health_and_the_page_are_open(method: str, path: str, open_: bool) -> None:
    assert is_open(HttpRequest(method, path)) is open_


class CountingHmac:
    def __init__(self) -> None:
        self.calls = 0

    def compare_digest(self, a: bytes, b: bytes) -> bool:
        self.calls += 1
        return a == b


@pytest.mark.parametrize("position", ["first", "last", "absent"])
def test_every_digest_is_compared_wherever_the_match_is(
    position: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    others = [hash_key(f"key-{n}").encode() for n in range(999)]
    mine = hash_key(CANARY_CLIENT_KEY).encode()
    digests = {"first": [mine, *others], "last": [*others, mine], "absent": others}[position]
    counter = CountingHmac()
    monkeypatch.setattr(auth_module, "hmac", SimpleNamespace(compare_digest=counter.compare_digest))
    assert key_matches(CANARY_CLIENT_KEY, tuple(digests)) is (position != "absent")
    assert counter.calls == len(digests)


def test_the_real_compare_finds_a_key_among_a_thousand_digests() -> None:
    digests = tuple(hash_key(f"key-{n}").encode() for n in range(1000))
    assert key_matches("key-999", digests)
    assert not key_matches("key-1000", digests)


# --- through the app ----------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(bearer(CANARY_CLIENT_KEY), id="bearer"),
        pytest.param({"x-api-key": CANARY_CLIENT_KEY}, id="x-api-key"),
        pytest.param(bearer(OTHER_KEY), id="another-key"),
        pytest.param({**bearer(WRONG_KEY), "x-api-key": CANARY_CLIENT_KEY}, id="either-one"),
    ],
)
async def test_a_valid_key_opens_every_route(
    app: App,
    method: str,
    path: str,
    body: object,
    headers: dict[str, str],
    leak_scan: LeakScanner,
) -> None:
    response, raw = await call(app, method, path, body, headers)
    assert response.status == 200, raw
    leak_scan.scan_response(response, raw, path)


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
@pytest.mark.parametrize(
    ("headers", "challenge"),
    [
        pytest.param({}, 'Bearer realm="llmrelay"', id="no-key"),
        pytest.param({"authorization": "Basic dTpw"}, 'Bearer realm="llmrelay"', id="basic"),
        pytest.param(
            bearer(WRONG_KEY), 'Bearer realm="llmrelay", error="invalid_token"', id="wrong"
        ),
        pytest.param(
            {"x-api-key": WRONG_KEY},
            'Bearer realm="llmrelay", error="invalid_token"',
            id="wrong-x-api-key",
        ),
        pytest.param(
            bearer(CANARY_CLIENT_KEY[:-1]),
            'Bearer realm="llmrelay", error="invalid_token"',
            id="almost",
        ),
    ],
)
async def test_a_missing_or_wrong_key_is_401_on_every_protected_route(
    app: App,
    method: str,
    path: str,
    body: object,
    headers: dict[str, str],
    challenge: str,
    leak_scan: LeakScanner,
) -> None:
    leak_scan.add("WRONG_KEY", WRONG_KEY)
    response, raw = await call(app, method, path, body, headers)
    assert response.status == 401
    assert response.headers["www-authenticate"] == challenge
    if path.startswith("/api/chat"):  # useChat shows the body: the human message, as text
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert response.headers["x-llmrelay-error-code"] == "unauthorized"
        leak_scan.scan_response(response, raw, path)
        return
    assert response.headers["content-type"] == "application/json"
    error = json.loads(raw)["error"]
    assert error["code"] == "unauthorized"
    if path.startswith("/v1/"):  # OpenAI's shape, so its SDKs raise AuthenticationError
        assert error["type"] == "authentication_error"
    else:
        assert error["retryable"] is False
    leak_scan.scan_response(response, raw, path)


@pytest.mark.parametrize(("method", "path"), OPEN)
async def test_health_and_the_page_need_no_key(app: App, method: str, path: str) -> None:
    response, _ = await call(app, method, path)
    assert response.status == 200


async def test_an_unknown_path_is_401_without_a_key_and_404_with_one(app: App) -> None:
    response, _ = await call(app, "GET", "/admin")
    assert response.status == 401
    response, _ = await call(app, "GET", "/admin", headers=bearer(CANARY_CLIENT_KEY))
    assert response.status == 404


async def test_a_refusal_is_logged_without_the_key(
    app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    await call(app, "POST", "/chat", {"messages": HELLO}, bearer(WRONG_KEY))
    err = capsys.readouterr().err
    record = json.loads(err.strip().splitlines()[-1])
    assert record["message"] == "auth: request refused"
    assert record["reason"] == "invalid_key"
    assert record["path"] == "/chat"
    assert WRONG_KEY not in err


@pytest.mark.parametrize("hashes", [None, "[]", "", "not-a-digest"])
async def test_with_no_digest_configured_every_key_is_refused(
    api_key_mode: None, hashes: str | None
) -> None:
    app = build_app(secrets=secrets_with(hashes))
    response, _ = await call(app, "POST", "/chat", {"messages": HELLO}, bearer(CANARY_CLIENT_KEY))
    assert response.status == 401


class UnreadableSecret:
    def get(self, name: str) -> str | None:
        raise MissingKey("could not read secret 'llmrelay/prod'")

    def refresh(self) -> bool:
        return False


async def test_an_unreadable_secret_refuses_with_503_not_an_open_door(
    api_key_mode: None, leak_scan: LeakScanner
) -> None:
    app = build_app(secrets=UnreadableSecret())
    response, raw = await call(app, "GET", "/v1/models", headers=bearer(CANARY_CLIENT_KEY))
    assert response.status == 503
    assert json.loads(raw)["error"]["code"] == "auth_unavailable"
    assert b"llmrelay/prod" not in raw
    leak_scan.scan_response(response, raw, "/v1/models")


@pytest.mark.parametrize("mode", ["none", "iam"])
async def test_other_modes_check_no_key(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMRELAY_AUTH", mode)
    app = build_app(secrets=secrets_with("[]"))
    response, _ = await call(app, "POST", "/chat", {"messages": HELLO, "stream": False})
    assert response.status == 200


@pytest.mark.parametrize(
    "stored",
    [
        pytest.param(json.dumps([hash_key(CANARY_CLIENT_KEY)]), id="json-list-in-a-string"),
        pytest.param(f"{hash_key(OTHER_KEY)},{hash_key(CANARY_CLIENT_KEY)}", id="comma-separated"),
    ],
)
async def test_digests_are_read_from_secrets_manager(
    stored: str, api_key_mode: None, moto_secret: Callable[..., object], leak_scan: LeakScanner
) -> None:
    moto_secret({**CANARY_SECRETS, "CLIENT_API_KEY_HASHES": stored})
    app = build_app()
    ok, raw = await call(app, "POST", "/chat", {"messages": HELLO}, bearer(CANARY_CLIENT_KEY))
    refused, _ = await call(app, "POST", "/chat", {"messages": HELLO}, bearer(WRONG_KEY))
    assert (ok.status, refused.status) == (200, 401)
    leak_scan.scan_response(ok, raw, "/chat")


# --- the key tool -------------------------------------------------------------------------


def test_the_key_tool_prints_the_digest_of_a_key_from_stdin(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert keytool.main([], io.StringIO(CANARY_CLIENT_KEY + "\n")) == 0
    out = capsys.readouterr().out
    assert out == hash_key(CANARY_CLIENT_KEY) + "\n"


def test_the_key_tool_refuses_an_empty_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert keytool.main([], io.StringIO("")) == 2
    assert "no key" in capsys.readouterr().err


def test_the_key_tool_generates_a_key_and_its_digest(capsys: pytest.CaptureFixture[str]) -> None:
    assert keytool.main(["--generate"]) == 0
    lines = dict(line.split(maxsplit=1) for line in capsys.readouterr().out.splitlines())
    assert lines["key"].startswith("llmr-")
    assert len(lines["key"]) > 40
    assert lines["sha256"] == hash_key(lines["key"])
