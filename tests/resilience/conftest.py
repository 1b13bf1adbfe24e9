"""Fixtures for the resilience tests: fake OpenAI and Anthropic upstreams on loopback, the
real SDKs pointed at them, millisecond backoffs, recorded sleeps and fixed jitter."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from tests.helpers.outcome import Drained

from llmrelay import ChatRequest, Routed, stream_chat
from llmrelay.config import Settings
from llmrelay.resilience import ResilientEvent
from llmrelay.secrets import StaticSecrets
from llmrelay.testing import FakeAnthropic, FakeOpenAI

PRIMARY = "openai/gpt-4o-mini"
SECONDARY = "anthropic/claude-haiku-4-5"
KEYS = {"OPENAI_API_KEY": "sk-proj-resilience-0001", "ANTHROPIC_API_KEY": "sk-ant-res-0001"}
# Short enough to keep timeout tests fast, long enough never to fire for a fake that
# answers at once on a loaded machine (a new SDK client per test included).
FIRST_TOKEN_MS = 900
IDLE_MS = 900
# Longer than either timeout: a fault that sleeps this long is a timeout for sure.
SLOW_S = 2.0


@pytest.fixture(scope="session")
def sdks_warm() -> None:
    """One real call through each SDK up front: a cold SDK import and first client
    (0.5-2 s) inside an attempt's first-token window would make the first test of a run
    time out by accident."""

    async def warm() -> None:
        with FakeOpenAI() as openai, FakeAnthropic() as anthropic:
            settings = Upstreams(openai, anthropic).settings()
            for model in (PRIMARY, SECONDARY):
                stream = stream_chat(chat(model=model), settings=settings, secrets=secrets())
                assert [event async for event in stream]

    asyncio.run(warm())


def chat(text: str = "Hi", model: str = PRIMARY, **fields: Any) -> ChatRequest:
    return ChatRequest.parse(
        {"model": model, "messages": [{"role": "user", "content": text}], **fields}
    )


class Outcome(Drained[ResilientEvent]):
    """Everything a stream produced, then the error that ended it."""

    @property
    def routed(self) -> list[Routed]:
        return [e for e in self.events if isinstance(e, Routed)]


drain = Outcome.drain


@dataclass
class Sleeps:
    """A ``sleep`` that records what it was asked and returns at once."""

    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake


@dataclass(frozen=True)
class Upstreams:
    """Both fakes and the settings that point the SDKs at them."""

    openai: FakeOpenAI
    anthropic: FakeAnthropic

    def settings(self, **env: str) -> Settings:
        base: Mapping[str, str] = {
            "LLMRELAY_OPENAI_BASE_URL": f"{self.openai.url}/v1",
            "LLMRELAY_ANTHROPIC_BASE_URL": self.anthropic.url,
            "LLMRELAY_RETRY_BASE_MS": "1",
            "LLMRELAY_RETRY_MAX_BACKOFF_MS": "4",
            "LLMRELAY_FIRST_TOKEN_TIMEOUT_MS": str(FIRST_TOKEN_MS),
            "LLMRELAY_IDLE_TIMEOUT_MS": str(IDLE_MS),
        }
        return Settings.from_env({**base, **env})


@pytest.fixture
def upstreams(sdks_warm: None, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic) -> Upstreams:
    return Upstreams(fake_openai, fake_anthropic)


def secrets(without: str | None = None) -> StaticSecrets:
    """Both keys, or all but ``without``."""
    return StaticSecrets({name: key for name, key in KEYS.items() if name != without})
