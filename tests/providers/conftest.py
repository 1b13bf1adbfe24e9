"""Fixtures for the provider tests: OpenAI-style fake upstreams on loopback, short SDK
timeouts, and a runner that drains ``stream_chat`` into events and the error that ended it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import pytest

from llmrelay import ChatRequest, Finish, StreamEvent, TextDelta, stream_chat
from llmrelay.config import Settings, get_settings
from llmrelay.errors import LLMRelayError
from llmrelay.secrets import SecretStore
from llmrelay.testing import FakeHuggingFace, FakeOpenAI

# Short enough to keep a timeout test fast, long enough never to fire on a loaded machine
# for an upstream that answers at once.
READ_TIMEOUT_S = 0.4


@dataclass
class Outcome:
    """Everything one ``stream_chat`` produced: its events, then the error that ended it."""

    events: list[StreamEvent] = field(default_factory=list)
    error: LLMRelayError | None = None

    @property
    def text(self) -> str:
        return "".join(e.text for e in self.events if isinstance(e, TextDelta))

    @property
    def deltas(self) -> list[str]:
        return [e.text for e in self.events if isinstance(e, TextDelta)]

    @property
    def finish(self) -> Finish:
        assert self.error is None, f"stream failed: {self.error!r}"
        last = self.events[-1]
        assert isinstance(last, Finish)
        assert sum(isinstance(e, Finish) for e in self.events) == 1
        return last


Run = Callable[[ChatRequest, Settings, SecretStore], Awaitable[Outcome]]


async def _drain(stream: AsyncIterator[StreamEvent]) -> Outcome:
    outcome = Outcome()
    try:
        async for event in stream:
            outcome.events.append(event)
    except LLMRelayError as exc:
        outcome.error = exc
    return outcome


@pytest.fixture
def run() -> Run:
    """``await run(request, settings, secrets)``: the :class:`Outcome` of one chat."""

    async def run(request: ChatRequest, settings: Settings, secrets: SecretStore) -> Outcome:
        return await _drain(stream_chat(request, settings=settings, secrets=secrets))

    return run


@pytest.fixture
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """SDK timeouts come from the process settings; a stalled fake must fail fast.
    (Not autouse: other providers' tests here choose their own timeouts.)"""
    monkeypatch.setenv("LLMRELAY_UPSTREAM_READ_TIMEOUT_S", str(READ_TIMEOUT_S))
    monkeypatch.setenv("LLMRELAY_UPSTREAM_CONNECT_TIMEOUT_S", "2")
    get_settings.cache_clear()


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def fake_hf() -> Iterator[FakeHuggingFace]:
    with FakeHuggingFace() as fake:
        yield fake
