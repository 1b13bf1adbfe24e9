"""Fixtures of the fault-injection suite: one fake upstream per provider on loopback (shared
by the session, emptied before each test), warmed in each module's loop, and the gateway app built
the way the function builds it, with the canary keys (``tests.leakscan``) as its secret and
client API keys required.

Timeouts are short so that a fault costs a fraction of a second: the first-token
timeout is ``TIMEOUT_MS`` and the idle one ``IDLE_TIMEOUT_MS`` (see :mod:`.scenarios`), retries
wait a few milliseconds.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import pytest
import pytest_asyncio
from tests.leakscan import CANARY_CLIENT_KEY, CANARY_SECRETS, leak_scan

from llmrelay import ChatRequest, stream_chat
from llmrelay.config import Settings
from llmrelay.gateway import GatewayOptions, build_app
from llmrelay.gateway.auth import HASHES_KEY, hash_key
from llmrelay.http import App
from llmrelay.observability import observed
from llmrelay.secrets import StaticSecrets
from llmrelay.testing import FakeAnthropic, FakeBedrock, FakeHuggingFace, FakeOpenAI, FakeUpstream

from .scenarios import IDLE_TIMEOUT_MS, TIMEOUT_MS

__all__ = ["CLIENT_HEADERS", "Upstream", "Upstreams", "fault_app", "leak_scan", "settings_for"]

CLIENT_HEADERS: Mapping[str, str] = {"authorization": f"Bearer {CANARY_CLIENT_KEY}"}


@dataclass(frozen=True)
class Upstream:
    """One provider's fake, the model string that reaches it and the key it is sent."""

    provider: str
    model: str
    key_name: str
    fake: FakeUpstream
    base_url: str

    @property
    def key(self) -> str:
        return CANARY_SECRETS[self.key_name]

    def reset(self) -> None:
        self.fake.replies.clear()
        self.fake.requests.clear()


Upstreams = Mapping[str, Upstream]


def _upstreams(
    openai: FakeOpenAI,
    anthropic: FakeAnthropic,
    hf: FakeHuggingFace,
    gemini: FakeOpenAI,
    bedrock: FakeBedrock,
) -> dict[str, Upstream]:
    found = [
        Upstream("openai", "openai/gpt-4o-mini", "OPENAI_API_KEY", openai, f"{openai.url}/v1"),
        Upstream(
            "anthropic",
            "anthropic/claude-haiku-4-5",
            "ANTHROPIC_API_KEY",
            anthropic,
            anthropic.url,
        ),
        Upstream(
            "huggingface",
            "huggingface/meta-llama/Llama-3.1-8B-Instruct",
            "HF_TOKEN",
            hf,
            f"{hf.url}/v1",
        ),
        # The OpenAI-compatible preset: its base URL has a path prefix, and its canary key
        # has no recognisable shape, so only the secret store's registration can mask it.
        Upstream(
            "gemini",
            "gemini/gemini-2.0-flash",
            "GEMINI_API_KEY",
            gemini,
            f"{gemini.url}/v1beta/openai/",
        ),
        # No key in the secret: the role's credentials sign the call, and the fake refuses
        # any other access key id (AWS_ENDPOINT_URL_BEDROCK_RUNTIME would do as well as the
        # base URL setting).
        Upstream(
            "bedrock",
            "bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0",
            "AWS_ACCESS_KEY_ID",
            bedrock,
            bedrock.url,
        ),
    ]
    return {upstream.provider: upstream for upstream in found}


def settings_for(upstreams: Upstreams, env: Mapping[str, str] | None = None) -> Settings:
    """Every provider pointed at its fake, one retry with millisecond backoffs, short
    first-token and idle timeouts; ``env`` on top."""
    base = {
        f"LLMRELAY_{upstream.provider.upper()}_BASE_URL": upstream.base_url
        for upstream in upstreams.values()
    }
    base |= {
        "LLMRELAY_RETRY_ATTEMPTS": "1",
        "LLMRELAY_RETRY_BASE_MS": "1",
        "LLMRELAY_RETRY_MAX_BACKOFF_MS": "4",
        "LLMRELAY_FIRST_TOKEN_TIMEOUT_MS": str(TIMEOUT_MS),
        "LLMRELAY_IDLE_TIMEOUT_MS": str(IDLE_TIMEOUT_MS),
    }
    return Settings.from_env({**base, **(env or {})})


def canary_store() -> StaticSecrets:
    """The canary provider keys, and the digest of the canary client key."""
    hashes = json.dumps([hash_key(CANARY_CLIENT_KEY)])
    return StaticSecrets({**CANARY_SECRETS, HASHES_KEY: hashes})


def fault_app(settings: Settings, env: Mapping[str, str] | None = None) -> App:
    """The function's app as ``functions/chat/app.py`` builds it (every route, client auth
    as ``LLMRELAY_AUTH`` says, the resilient provider layer, the per-invocation log line
    and metrics), with the gateway options ``env`` sets (``LLMRELAY_PING_INTERVAL_MS``)."""
    options = GatewayOptions.from_env(env or {})
    return observed(build_app(options=options, settings=settings, secrets=canary_store()))


async def _warm(upstreams: Upstreams) -> None:
    settings = settings_for(upstreams)
    for upstream in upstreams.values():
        request = ChatRequest.parse(
            {"model": upstream.model, "messages": [{"role": "user", "content": "warm"}]}
        )
        events = stream_chat(request, settings=settings, secrets=StaticSecrets(CANARY_SECRETS))
        assert [event async for event in events]


@pytest.fixture(scope="session")
def _fault_upstreams() -> Iterator[dict[str, Upstream]]:
    with contextlib.ExitStack() as stack:
        found = _upstreams(
            stack.enter_context(FakeOpenAI()),
            stack.enter_context(FakeAnthropic()),
            stack.enter_context(FakeHuggingFace()),
            stack.enter_context(FakeOpenAI()),
            stack.enter_context(FakeBedrock(access_key_id=CANARY_SECRETS["AWS_ACCESS_KEY_ID"])),
        )
        stack.enter_context(_role_credentials(pytest.MonkeyPatch.context()))
        yield found


@pytest_asyncio.fixture(scope="module", loop_scope="module", autouse=True)
async def _warm_this_loop(_fault_upstreams: dict[str, Upstream]) -> None:
    """Each module's cases share one loop; its first request to each provider is made here,
    not inside a case's first-token window: the SDK's first import and client (0.5-2 s in the
    first module), and in every loop its connection pools (huggingface_hub's session loads
    the CA bundle anew: 18 ms alone, which on a loaded 2-core machine took a case past its
    first-token timeout)."""
    await _warm(_fault_upstreams)


@contextlib.contextmanager
def _role_credentials(
    patch: contextlib.AbstractContextManager[pytest.MonkeyPatch],
) -> Iterator[None]:
    """The function role's credentials, as Lambda sets them (the canary access key id)."""
    with patch as monkeypatch:
        _set_role_credentials(monkeypatch)
        yield


def _set_role_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CANARY_SECRETS["AWS_ACCESS_KEY_ID"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "canary-role-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "canary-role-session")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def upstreams(_fault_upstreams: dict[str, Upstream], monkeypatch: pytest.MonkeyPatch) -> Upstreams:
    """The fakes, emptied (no queued reply, no recorded request), with client API keys
    required (``LLMRELAY_AUTH=api_key``) and the role's credentials for Bedrock."""
    for upstream in _fault_upstreams.values():
        upstream.reset()
    monkeypatch.setenv("LLMRELAY_AUTH", "api_key")
    _set_role_credentials(monkeypatch)
    return _fault_upstreams
