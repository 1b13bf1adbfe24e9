"""Bedrock before a SnapStart snapshot and after a restore: the warm-up streams a canned
answer with no network and no credentials, leaves no client and no thread behind, and the
restore hook forgets every client made since."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest

from llmrelay import ChatRequest, stream_chat
from llmrelay.config import Settings
from llmrelay.events import Finish
from llmrelay.providers import bedrock_clients
from llmrelay.providers.clients import forget_all_clients
from llmrelay.providers.warmup import warm_provider
from llmrelay.secrets import StaticSecrets
from llmrelay.snapshot import before_snapshot, snapshot_providers
from llmrelay.testing import FakeBedrock


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in an init before the snapshot that must not resolve any: none to be had."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)


def bedrock_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "llmrelay-bedrock"]


async def test_the_warm_up_streams_from_memory_without_credentials(no_credentials: None) -> None:
    assert await warm_provider("bedrock") is True
    assert len(bedrock_clients._clients) == 0  # its canned client is gone
    assert bedrock_clients._loader is not None  # the parsed service model stays
    assert bedrock_threads() == []


def test_a_bedrock_default_model_is_warmed_before_the_snapshot() -> None:
    settings = Settings.from_env({"LLMRELAY_DEFAULT_MODEL": "bedrock/amazon.nova-lite-v1:0"})
    assert snapshot_providers(settings) == ("bedrock",)


async def test_before_snapshot_warms_bedrock(
    no_credentials: None, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings.from_env({"LLMRELAY_DEFAULT_MODEL": "bedrock/amazon.nova-lite-v1:0"})
    await before_snapshot(settings)
    [line] = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if "warm-up" in line
    ]
    assert (line["message"], line["providers"]) == ("snapshot warm-up", ["bedrock"])
    assert len(bedrock_clients._clients) == 0


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBedrock]:
    with FakeBedrock() as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", server.url)
        yield server
    bedrock_clients.clear_clients()


async def test_after_a_restore_no_bedrock_client_from_before_is_reused(fake: FakeBedrock) -> None:
    request = ChatRequest.parse(
        {"model": "bedrock/amazon.nova-lite-v1:0", "messages": [{"role": "user", "content": "hi"}]}
    )

    async def ask() -> object:
        events = stream_chat(request, settings=Settings.from_env({}), secrets=StaticSecrets())
        return [event async for event in events][-1]

    assert isinstance(await ask(), Finish)
    (before,) = bedrock_clients._clients.values()
    forget_all_clients()  # what the after-restore hook does
    assert bedrock_clients._clients == {}
    assert isinstance(await ask(), Finish)
    (after,) = bedrock_clients._clients.values()
    assert after is not before
    assert len(fake.requests) == 2
