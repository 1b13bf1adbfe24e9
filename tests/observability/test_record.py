from __future__ import annotations

import asyncio
import contextvars

import pytest

from llmrelay.errors import RateLimited, UpstreamTimeout
from llmrelay.events import Failure, Finish, Usage
from llmrelay.observability.record import (
    InvocationRecord,
    current_record,
    note_error,
    note_route,
    open_record,
)


def record(started: float = 100.0) -> InvocationRecord:
    return InvocationRecord("req-1", "POST", "/chat", started)


def test_noting_without_an_open_record_does_nothing() -> None:
    def outside() -> InvocationRecord | None:
        note_route("openai", "openai/gpt-4o")
        note_error("rate_limited")
        return current_record()

    assert contextvars.Context().run(outside) is None


def test_notes_land_in_the_open_record_the_first_error_kept() -> None:
    opened = record()

    def inside() -> None:
        open_record(opened)
        note_route("openai", "openai/gpt-4o")
        note_error("rate_limited")
        note_error("internal_error")

    contextvars.Context().run(inside)
    assert (opened.provider, opened.model, opened.error) == (
        "openai",
        "openai/gpt-4o",
        "rate_limited",
    )


async def test_tasks_created_in_the_invocation_note_into_its_record() -> None:
    opened = record()

    async def invocation() -> None:
        open_record(opened)
        await asyncio.create_task(_note_in_a_task())

    await asyncio.create_task(invocation(), context=contextvars.Context())
    assert opened.model == "echo/echo"


async def _note_in_a_task() -> None:
    note_route("echo", "echo/echo")


def test_a_finish_confirms_the_model_and_a_fallback_renames_it() -> None:
    opened = record()
    opened.route("openai", "openai/gpt-4o")
    opened.finish(Finish("stop", Usage(12, 34), model="anthropic/claude-sonnet-4-5"))
    assert opened.confirmed
    assert (opened.provider, opened.model) == ("anthropic", "anthropic/claude-sonnet-4-5")
    assert (opened.input_tokens, opened.output_tokens) == (12, 34)


def test_a_failure_keeps_its_code_and_the_usage_so_far() -> None:
    opened = record()
    opened.fail(Failure(UpstreamTimeout("slow"), Usage(0, 5)))
    assert (opened.error, opened.output_tokens) == ("upstream_timeout", 5)
    assert not opened.confirmed


def test_an_error_noted_before_a_failure_stays_the_code() -> None:
    opened = record()
    opened.error = "payload_too_large"
    opened.fail(Failure(RateLimited("later")))
    assert opened.error == "payload_too_large"


def test_times_are_measured_from_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    opened = record(started=100.0)
    monkeypatch.setattr("time.monotonic", lambda: 100.25)
    opened.text()
    opened.text()  # only the first text counts
    opened.end(101.0)
    opened.end(102.0)  # only the first end counts
    assert opened.ttft_ms == pytest.approx(250)
    assert opened.duration_ms == pytest.approx(1000)
    assert opened.confirmed
