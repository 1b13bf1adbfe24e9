"""``stream_resilient`` over the real SDKs and the fake upstreams: what is retried, what
falls back, what is final, and which model is said to answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator

import pytest

from llmrelay import stream_chat, stream_resilient
from llmrelay.config import Settings
from llmrelay.errors import (
    AuthenticationFailed,
    ConfigurationError,
    DeadlineExceeded,
    RateLimited,
    UpstreamBadRequest,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from llmrelay.events import BlockEnd, BlockStart, Finish, Routed, StreamEvent, TextBlock, TextDelta
from llmrelay.models import ChatRequest
from llmrelay.resilience import deadline_context
from llmrelay.secrets import StaticSecrets
from llmrelay.testing import FakeUpstream, Fault, Reply

from .conftest import (
    PRIMARY,
    SECONDARY,
    SLOW_S,
    Outcome,
    Sleeps,
    Upstreams,
    chat,
    drain,
    secrets,
)

HELLO = "Hello, world!"
JITTER = 0.5
# With base 1 ms and jitter 0.5, the first backoff is 0.5 ms.
FIRST_BACKOFF = 0.0005
CHAIN = f'{{"{PRIMARY}": ["{SECONDARY}"]}}'


async def run(
    request: ChatRequest,
    settings: Settings,
    sleeps: Sleeps,
    *,
    keys: StaticSecrets | None = None,
    deadline: float | None = None,
) -> Outcome:
    stream = stream_resilient(
        request,
        settings=settings,
        secrets=keys or secrets(),
        deadline=deadline,
        sleep=sleeps,
        jitter=lambda: JITTER,
    )
    return await drain(stream)


def fake_for(upstreams: Upstreams, model: str) -> FakeUpstream:
    return upstreams.openai if model == PRIMARY else upstreams.anthropic


def fails(fault: Fault) -> Reply:
    return Reply(fault=fault)


# What is retried: every fault before the first text, on each provider, then success.

RETRIED = [
    pytest.param(Fault("status", status=429, retry_after="1"), 1.0, id="429-retry-after"),
    pytest.param(Fault("status", status=429), FIRST_BACKOFF, id="429-no-hint"),
    pytest.param(Fault("status", status=500), FIRST_BACKOFF, id="500"),
    pytest.param(Fault("status", status=503), FIRST_BACKOFF, id="503"),
    pytest.param(Fault("status", status=529), FIRST_BACKOFF, id="529-overloaded"),
    pytest.param(Fault("in_stream_error", after_chunks=0), FIRST_BACKOFF, id="overloaded-event"),
    pytest.param(Fault("cut", after_chunks=0), FIRST_BACKOFF, id="cut-before-text"),
    pytest.param(Fault("malformed", after_chunks=0), FIRST_BACKOFF, id="malformed-before-text"),
    pytest.param(Fault("slow_first_byte", delay_s=SLOW_S), FIRST_BACKOFF, id="slow-first-byte"),
    pytest.param(Fault("stall", after_chunks=0, delay_s=SLOW_S), FIRST_BACKOFF, id="stall-first"),
]


@pytest.mark.parametrize("model", [PRIMARY, SECONDARY], ids=["openai", "anthropic"])
@pytest.mark.parametrize(("fault", "wait"), RETRIED)
async def test_a_failure_before_any_text_is_retried_after_its_wait(
    upstreams: Upstreams, sleeps: Sleeps, model: str, fault: Fault, wait: float
) -> None:
    fake = fake_for(upstreams, model)
    fake.queue(fails(fault))
    outcome = await run(chat(model=model), upstreams.settings(), sleeps)
    assert outcome.text == HELLO
    assert outcome.finish.model == model
    assert outcome.routed == [Routed(model, attempt=2)]
    assert len(fake.requests) == 2
    assert sleeps.waits == [wait]


async def test_backoff_doubles_with_each_retry_until_retries_run_out(
    upstreams: Upstreams, sleeps: Sleeps
) -> None:
    upstreams.openai.queue(*[fails(Fault("status", status=503))] * 4)
    settings = upstreams.settings(
        LLMRELAY_RETRY_ATTEMPTS="3",
        LLMRELAY_RETRY_BASE_MS="10",
        LLMRELAY_RETRY_MAX_BACKOFF_MS="1000",
    )
    outcome = await run(chat(), settings, sleeps)
    assert isinstance(outcome.error, UpstreamUnavailable)
    assert outcome.events == []
    assert len(upstreams.openai.requests) == 4
    assert sleeps.waits == pytest.approx([0.005, 0.01, 0.02])


NOT_RETRIED = [
    pytest.param(Fault("status", status=400), UpstreamBadRequest, id="400"),
    pytest.param(Fault("status", status=401), AuthenticationFailed, id="401-same-key"),
    pytest.param(Fault("status", status=404), UpstreamBadRequest, id="404"),
]


@pytest.mark.parametrize(("fault", "error"), NOT_RETRIED)
async def test_a_failure_a_retry_cannot_fix_is_raised_at_once(
    upstreams: Upstreams, sleeps: Sleeps, fault: Fault, error: type[Exception]
) -> None:
    # A 401 refetches the secret once (rotation); the key is the same, so no second call.
    upstreams.openai.queue(fails(fault))
    outcome = await run(chat(), upstreams.settings(), sleeps)
    assert isinstance(outcome.error, error)
    assert len(upstreams.openai.requests) == 1
    assert sleeps.waits == []


async def test_a_retry_after_longer_than_the_cap_is_not_waited_for(
    upstreams: Upstreams, sleeps: Sleeps
) -> None:
    upstreams.openai.queue(fails(Fault("status", status=429, retry_after="30")))
    outcome = await run(chat(), upstreams.settings(LLMRELAY_RETRY_AFTER_MAX_MS="5000"), sleeps)
    assert isinstance(outcome.error, RateLimited)
    assert outcome.error.retry_after == 30  # the client learns how long to wait
    assert (len(upstreams.openai.requests), sleeps.waits) == (1, [])


# Once text has been passed on, the answer is committed.

AFTER_TEXT = [
    pytest.param(Fault("cut", after_chunks=2), UpstreamUnavailable, id="cut"),
    pytest.param(Fault("malformed", after_chunks=2), UpstreamUnavailable, id="malformed"),
    pytest.param(Fault("in_stream_error", after_chunks=2), UpstreamUnavailable, id="error-event"),
    pytest.param(Fault("stall", after_chunks=2, delay_s=SLOW_S), UpstreamTimeout, id="idle"),
]


@pytest.mark.parametrize("model", [PRIMARY, SECONDARY], ids=["openai", "anthropic"])
@pytest.mark.parametrize(("fault", "error"), AFTER_TEXT)
async def test_a_failure_after_text_is_raised_after_that_text_and_not_retried(
    upstreams: Upstreams, sleeps: Sleeps, model: str, fault: Fault, error: type[Exception]
) -> None:
    fake = fake_for(upstreams, model)
    fake.queue(fails(fault))
    settings = upstreams.settings(LLMRELAY_FALLBACKS='{"*": ["echo/echo"]}')
    outcome = await run(chat(model=model), settings, sleeps)
    assert outcome.text == "Hello, "
    assert outcome.routed == [Routed(model, attempt=1)]
    assert isinstance(outcome.error, error)
    assert len(fake.requests) == 1
    assert sleeps.waits == []


# Fallback chains.

FALLEN_BACK = [
    pytest.param([Fault("status", status=401)], 2, [], id="401"),
    pytest.param([Fault("status", status=429, retry_after="60")], 2, [], id="429-long-hint"),
    pytest.param([Fault("status", status=503)] * 3, 4, [FIRST_BACKOFF, 0.001], id="503-x3"),
    pytest.param([Fault("slow_first_byte", delay_s=SLOW_S)], 2, [], id="first-token-timeout"),
]


@pytest.mark.parametrize(("faults", "attempt", "waits"), FALLEN_BACK)
async def test_when_the_primary_fails_the_next_model_of_its_chain_answers(
    upstreams: Upstreams, sleeps: Sleeps, faults: list[Fault], attempt: int, waits: list[float]
) -> None:
    upstreams.openai.queue(*map(fails, faults))
    retries = "2" if len(faults) > 1 else "0"
    settings = upstreams.settings(LLMRELAY_FALLBACKS=CHAIN, LLMRELAY_RETRY_ATTEMPTS=retries)
    outcome = await run(chat(), settings, sleeps)
    assert outcome.text == HELLO
    assert outcome.routed == [Routed(SECONDARY, attempt)]
    assert outcome.finish.model == SECONDARY
    assert upstreams.anthropic.requests[0].body["model"] == "claude-haiku-4-5"
    assert sleeps.waits == pytest.approx(waits)


async def test_a_missing_key_falls_back_without_calling_the_primary(
    upstreams: Upstreams, sleeps: Sleeps
) -> None:
    settings = upstreams.settings(LLMRELAY_FALLBACKS=CHAIN)
    outcome = await run(chat(), settings, sleeps, keys=secrets(without="OPENAI_API_KEY"))
    assert outcome.finish.model == SECONDARY
    assert upstreams.openai.requests == []


async def test_the_default_chain_serves_models_without_their_own(
    upstreams: Upstreams, sleeps: Sleeps
) -> None:
    upstreams.openai.queue(fails(Fault("status", status=401)))
    settings = upstreams.settings(LLMRELAY_FALLBACKS=f'{{"*": ["{SECONDARY}"]}}')
    outcome = await run(chat(), settings, sleeps)
    assert outcome.finish.model == SECONDARY


async def test_a_request_that_is_itself_wrong_does_not_fall_back(
    upstreams: Upstreams, sleeps: Sleeps
) -> None:
    upstreams.openai.queue(fails(Fault("status", status=400)))
    outcome = await run(chat(), upstreams.settings(LLMRELAY_FALLBACKS=CHAIN), sleeps)
    assert isinstance(outcome.error, UpstreamBadRequest)
    assert upstreams.anthropic.requests == []


async def test_an_exhausted_chain_raises_the_last_models_error(
    upstreams: Upstreams, sleeps: Sleeps
) -> None:
    upstreams.openai.queue(fails(Fault("status", status=401)))
    upstreams.anthropic.queue(fails(Fault("status", status=529)))
    settings = upstreams.settings(LLMRELAY_FALLBACKS=CHAIN, LLMRELAY_RETRY_ATTEMPTS="0")
    outcome = await run(chat(), settings, sleeps)
    assert isinstance(outcome.error, UpstreamUnavailable)
    assert outcome.error.provider == "anthropic"
    assert outcome.events == []


async def test_a_chain_naming_an_unknown_provider_is_a_configuration_error(
    upstreams: Upstreams, sleeps: Sleeps
) -> None:
    settings = upstreams.settings(LLMRELAY_FALLBACKS=f'{{"{PRIMARY}": ["nowhere/model"]}}')
    outcome = await run(chat(), settings, sleeps)
    assert isinstance(outcome.error, ConfigurationError)
    assert upstreams.openai.requests == []


# Time: the deadline bounds retries and fallbacks; the total timeout bounds the answer.


async def test_no_backoff_is_slept_past_the_deadline(upstreams: Upstreams, sleeps: Sleeps) -> None:
    upstreams.openai.queue(fails(Fault("status", status=429, retry_after="2")))
    deadline = asyncio.get_running_loop().time() + 1.0
    outcome = await run(chat(), upstreams.settings(), sleeps, deadline=deadline)
    assert isinstance(outcome.error, RateLimited)
    assert (len(upstreams.openai.requests), sleeps.waits) == (1, [])


async def test_no_fallback_is_started_past_the_deadline(
    upstreams: Upstreams, sleeps: Sleeps
) -> None:
    upstreams.openai.queue(fails(Fault("status", status=401)))
    deadline = asyncio.get_running_loop().time()  # already spent
    outcome = await run(
        chat(), upstreams.settings(LLMRELAY_FALLBACKS=CHAIN), sleeps, deadline=deadline
    )
    assert isinstance(outcome.error, AuthenticationFailed)
    assert upstreams.anthropic.requests == []


async def test_the_deadline_published_by_the_guard_bounds_retries(
    upstreams: Upstreams, sleeps: Sleeps
) -> None:
    upstreams.openai.queue(fails(Fault("status", status=429, retry_after="2")))
    deadline = asyncio.get_running_loop().time() + 1.0
    task = asyncio.create_task(
        run(chat(), upstreams.settings(), sleeps), context=deadline_context(deadline)
    )
    outcome = await task
    assert isinstance(outcome.error, RateLimited)
    assert sleeps.waits == []


async def test_the_total_timeout_ends_a_slow_answer_with_deadline_exceeded(
    upstreams: Upstreams, sleeps: Sleeps
) -> None:
    # A piece every 250 ms, eight of them, and 1 s in all: the first piece has 750 ms to spare
    # for the request's own start (on a fresh clone's first make test, beside the other parts,
    # a first piece due at 150 ms missed a 400 ms budget), and time runs out halfway.
    pieces = tuple(f"p{n} " for n in range(8))
    upstreams.openai.queue(Reply(pieces=pieces, piece_delay_s=0.25))
    settings = upstreams.settings(LLMRELAY_TOTAL_TIMEOUT_MS="1000")
    outcome = await run(chat(), settings, sleeps)
    assert isinstance(outcome.error, DeadlineExceeded)
    assert outcome.text  # some text came, then time ran out
    assert "".join(pieces).startswith(outcome.text)
    assert outcome.text != "".join(pieces)
    assert len(upstreams.openai.requests) == 1


# max_tokens: never unbounded.


@pytest.mark.parametrize(
    ("model", "field"),
    [(PRIMARY, "max_completion_tokens"), (SECONDARY, "max_tokens")],
    ids=["openai", "anthropic"],
)
@pytest.mark.parametrize(("requested", "sent"), [(None, 321), (50, 50)], ids=["unset", "set"])
async def test_max_tokens_defaults_to_the_ceiling(
    upstreams: Upstreams,
    sleeps: Sleeps,
    model: str,
    field: str,
    requested: int | None,
    sent: int,
) -> None:
    settings = upstreams.settings(LLMRELAY_MAX_TOKENS_CEILING="321")
    await run(chat(model=model, max_tokens=requested), settings, sleeps)
    assert fake_for(upstreams, model).requests[0].body[field] == sent


async def test_an_answer_from_the_first_try_is_announced_then_streamed(sleeps: Sleeps) -> None:
    outcome = await run(chat("one two", model="echo/echo"), Settings(), sleeps)
    assert outcome.events == [
        Routed("echo/echo", 1),
        BlockStart(0, "text"),
        TextDelta("one "),
        TextDelta("two"),
        BlockEnd(0, TextBlock("one two")),
        Finish("stop", outcome.finish.usage, model="echo/echo"),
    ]


# Every stream opened is closed, whatever ends it.


class Recorder:
    """Opens real ``stream_chat`` attempts and records which were closed."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.opened = 0
        self.closed = 0

    def __call__(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        return self._recorded(request)

    async def _recorded(self, request: ChatRequest) -> AsyncGenerator[StreamEvent, None]:
        self.opened += 1
        try:
            async for event in stream_chat(request, settings=self.settings, secrets=secrets()):
                yield event
        finally:
            self.closed += 1


CLOSED = [
    pytest.param(Fault("slow_first_byte", delay_s=SLOW_S), id="first-token-timeout"),
    pytest.param(Fault("stall", after_chunks=2, delay_s=SLOW_S), id="idle-timeout"),
    pytest.param(Fault("status", status=503), id="error"),
    pytest.param(None, id="success"),
]


@pytest.mark.parametrize("fault", CLOSED)
async def test_every_attempt_is_closed(
    upstreams: Upstreams, sleeps: Sleeps, fault: Fault | None
) -> None:
    upstreams.openai.queue(Reply(fault=fault))
    settings = upstreams.settings(LLMRELAY_RETRY_ATTEMPTS="0")
    recorder = Recorder(settings)
    stream = stream_resilient(chat(), settings=settings, opener=recorder, sleep=sleeps)
    await drain(stream)
    assert (recorder.opened, recorder.closed) == (1, 1)


async def test_closing_the_stream_early_closes_the_attempt(
    upstreams: Upstreams, sleeps: Sleeps
) -> None:
    settings = upstreams.settings()
    recorder = Recorder(settings)
    stream = stream_resilient(chat(), settings=settings, opener=recorder, sleep=sleeps)
    assert isinstance(await anext(stream), Routed)
    assert await anext(stream) == BlockStart(0, "text")
    assert await anext(stream) == TextDelta("Hello")
    await stream.aclose()
    assert (recorder.opened, recorder.closed) == (1, 1)
