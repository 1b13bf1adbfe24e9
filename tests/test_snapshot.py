"""llmrelay's SnapStart hooks: which providers the configuration names, the warm-up before
the snapshot (real SDKs, no network, no secret) and what every restore forgets."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import snapshot_restore_py

from llmrelay import ChatRequest, Message, stream_chat
from llmrelay.config import Settings
from llmrelay.providers.clients import ClientCache
from llmrelay.providers.registry import ProviderKind, load_provider
from llmrelay.runtime import hooks
from llmrelay.secrets import StaticSecrets, secret_store_for
from llmrelay.snapshot import (
    after_restore,
    before_snapshot,
    register_snapshot_hooks,
    snapshot_providers,
)
from llmrelay.testing import FakeAnthropic, FakeOpenAI

ROOT = Path(__file__).resolve().parents[1]
KEYS = {"OPENAI_API_KEY": "sk-snap-openai-0123", "ANTHROPIC_API_KEY": "sk-ant-snap-0123"}

PROVIDER_CASES = [
    pytest.param({}, ("echo",), id="nothing-configured-is-echo"),
    pytest.param(
        {"LLMRELAY_DEFAULT_MODEL": "openai/gpt-4o-mini",
         "LLMRELAY_MODELS": "anthropic/claude-haiku-4-5, groq/llama-3.1-8b-instant"},
        ("openai", "anthropic"),
        id="default-and-listed-models-presets-share-their-kind",
    ),
    pytest.param(
        {"LLMRELAY_FALLBACKS": json.dumps(
            {"openai/gpt-4o": ["huggingface/meta-llama/Llama-3.1-8B-Instruct"],
             "*": ["anthropic/claude-haiku-4-5"]})},
        ("echo", "openai", "huggingface", "anthropic"),
        id="fallback-chains-and-their-models",
    ),
    pytest.param(
        {"LLMRELAY_DEFAULT_MODEL": "nope/model", "LLMRELAY_MODELS": "not-a-model-string"},
        (),
        id="unresolvable-models-are-left-to-fail-at-request-time",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("environ", "kinds"), PROVIDER_CASES)
def test_the_providers_to_warm_come_from_the_configuration(
    environ: dict[str, str], kinds: tuple[str, ...]
) -> None:
    assert snapshot_providers(Settings.from_env(environ)) == kinds


# Runs in a fresh interpreter: the hook as the runtime calls it, with every socket
# connection and name lookup recorded by an audit hook.
_CHILD = """
import asyncio, json, sys
opened = []
def audit(event, args):
    if event in ("socket.connect", "socket.getaddrinfo"):
        opened.append(event)
sys.addaudithook(audit)
from llmrelay import secrets
from llmrelay.providers.clients import _caches
from llmrelay.snapshot import before_snapshot
asyncio.run(before_snapshot())
print(json.dumps({
    "modules": [m for m in ("openai", "anthropic", "huggingface_hub", "boto3", "botocore")
                if m in sys.modules],
    "sockets": opened,
    "stores": len(secrets._stores),
    "clients": sum(len(cache) for cache in _caches),
}))
"""


def _before_snapshot_in_child(
    environ: dict[str, str], prelude: str = ""
) -> tuple[dict[str, object], str]:
    env = {**os.environ, **environ}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "layers" / "llmrelay"), str(ROOT)])
    done = subprocess.run(
        [sys.executable, "-c", prelude + _CHILD],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return report, done.stderr


def _records(logs: str, message: str) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("message") == message]


def test_before_the_snapshot_the_configured_sdks_warm_with_no_network_and_no_secret() -> None:
    report, logs = _before_snapshot_in_child(
        {
            "LLMRELAY_DEFAULT_MODEL": "openai/gpt-4o-mini",
            "LLMRELAY_MODELS": "anthropic/claude-haiku-4-5",
            "LLMRELAY_SECRET_ID": "llmrelay/never-read",
            # Anything that tried to reach these would show up as a connection attempt.
            "LLMRELAY_OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://127.0.0.1:9",
        }
    )
    # Their SDKs, and what reading the secret will need (imported, no client made); no HF.
    assert report["modules"] == ["openai", "anthropic", "boto3", "botocore"]
    assert report["sockets"] == []
    assert report["stores"] == 0  # the secret was never read
    assert report["clients"] == 0  # the warm-up's clients are gone
    [line] = _records(logs, "snapshot warm-up")
    assert line["providers"] == ["openai", "anthropic"]


def test_a_provider_that_cannot_warm_is_logged_and_does_not_fail_the_snapshot() -> None:
    report, logs = _before_snapshot_in_child(
        {
            "LLMRELAY_DEFAULT_MODEL": "huggingface/meta-llama/Llama-3.1-8B-Instruct",
            "LLMRELAY_MODELS": "echo/echo",
        },
        prelude="import sys\nsys.modules['huggingface_hub'] = None  # unimportable\n",
    )
    assert [r["provider"] for r in _records(logs, "snapshot warm-up failed")] == ["huggingface"]
    [line] = _records(logs, "snapshot warm-up")
    assert line["providers"] == ["echo"]
    assert report["sockets"] == []


async def _answer(model: str, settings: Settings) -> str:
    request = ChatRequest(model=model, messages=[Message(role="user", content="hi there")])
    text = ""
    async for event in stream_chat(request, settings=settings, secrets=StaticSecrets(KEYS)):
        text += getattr(event, "text", "")
    return text


def _clients(kind: ProviderKind) -> ClientCache[object]:
    cache = load_provider(kind).clients  # type: ignore[attr-defined]
    assert isinstance(cache, ClientCache)
    return cache


async def test_after_a_restore_no_client_and_no_secret_from_before_is_reused() -> None:
    with FakeOpenAI() as openai_fake, FakeAnthropic() as anthropic_fake:
        settings = Settings.from_env(
            {
                "LLMRELAY_OPENAI_BASE_URL": f"{openai_fake.url}/v1",
                "LLMRELAY_ANTHROPIC_BASE_URL": anthropic_fake.url,
            }
        )
        await before_snapshot(settings)
        first = await _answer("openai/gpt-4o-mini", settings)
        await _answer("anthropic/claude-haiku-4-5", settings)
        store = secret_store_for("llmrelay/cached", 300)
        # (Other tests' loops may have left clients too: every one of them must go.)
        assert len(_clients("openai")) >= 1
        assert len(_clients("anthropic")) >= 1

        after_restore()

        assert len(_clients("openai")) == len(_clients("anthropic")) == 0
        assert secret_store_for("llmrelay/cached", 300) is not store
        assert await _answer("openai/gpt-4o-mini", settings) == first  # and it still answers
        assert len(_clients("openai")) == 1


def test_after_a_restore_the_random_generator_no_longer_follows_the_snapshot() -> None:
    random.seed(1234)
    from_snapshot = [random.random() for _ in range(3)]
    random.seed(1234)  # the state every environment restored from one snapshot starts with
    after_restore()
    assert [random.random() for _ in range(3)] != from_snapshot


@pytest.fixture
def _empty_registries() -> Iterator[None]:
    def clear() -> None:
        snapshot_restore_py.get_before_snapshot().clear()
        snapshot_restore_py.get_after_restore().clear()
        hooks.registry.cache_clear()

    clear()
    yield
    clear()


@pytest.mark.usefixtures("_empty_registries")
def test_the_hooks_are_registered_only_for_a_snap_start_init() -> None:
    assert register_snapshot_hooks({"AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand"}) is False
    assert register_snapshot_hooks({}) is False
    assert snapshot_restore_py.get_before_snapshot() == []
    assert snapshot_restore_py.get_after_restore() == []

    assert register_snapshot_hooks({"AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start"}) is True
    assert snapshot_restore_py.get_before_snapshot() == [(before_snapshot, (), {})]
    assert snapshot_restore_py.get_after_restore() == [(after_restore, (), {})]
