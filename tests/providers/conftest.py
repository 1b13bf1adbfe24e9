"""Fixtures for the provider tests: OpenAI-style fake upstreams on loopback, short SDK
timeouts, and a runner that drains ``stream_chat`` into events and the error that ended it."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator

import pytest
from tests.helpers.outcome import Drained

from llmrelay import ChatRequest, Finish, StreamEvent, TextDelta, stream_chat
from llmrelay.config import Settings, get_settings
from llmrelay.errors import LLMRelayError
from llmrelay.secrets import SecretStore
from llmrelay.testing import FakeHuggingFace, FakeOpenAI

# Short enough to keep a timeout test fast, long enough never to fire on a loaded machine
# for an upstream that answers at once.
READ_TIMEOUT_S = 0.4


class Outcome(Drained[StreamEvent]):
    """Everything one ``stream_chat`` produced: its events, then the error that ended it."""

    @property
    def deltas(self) -> list[str]:
        return [e.text for e in self.events if isinstance(e, TextDelta)]

    @property
    def finish(self) -> Finish:
        last = super().finish
        assert sum(isinstance(e, Finish) for e in self.events) == 1
        return last


Run = Callable[[ChatRequest, Settings, SecretStore], Awaitable[Outcome]]


def assert_failed_as(
    outcome: Outcome, error: type[LLMRelayError], provider: str, retry_after: float | None
) -> None:
    """The stream ended in exactly ``error``, from ``provider``, and never finished."""
    assert type(outcome.error) is error, outcome.error
    assert outcome.error.provider == provider
    assert outcome.error.retryable is error.retryable
    assert outcome.error.retry_after == retry_after
    assert not any(isinstance(e, Finish) for e in outcome.events)


def assert_scrubbed(error: LLMRelayError | None, secret: str) -> None:
    """The upstream's text was quoted, scrubbed: ``secret`` is in no form of the error."""
    assert error is not None
    assert "[redacted]" in error.message
    for text in (str(error), repr(error), error.message, json.dumps(error.to_dict())):
        assert secret not in text


class RotatingSecrets:
    """A secret whose value has been rotated in Secrets Manager: this process still holds
    the old key until it fetches the secret again."""

    def __init__(self, name: str, old: str, new: str) -> None:
        self.name, self.current, self.new = name, old, new
        self.refreshes = 0

    def get(self, name: str) -> str | None:
        return self.current if name == self.name else None

    def refresh(self) -> bool:
        self.refreshes += 1
        changed, self.current = self.current != self.new, self.new
        return changed


@pytest.fixture
def run() -> Run:
    """``await run(request, settings, secrets)``: the :class:`Outcome` of one chat."""

    async def run(request: ChatRequest, settings: Settings, secrets: SecretStore) -> Outcome:
        return await Outcome.drain(stream_chat(request, settings=settings, secrets=secrets))

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
