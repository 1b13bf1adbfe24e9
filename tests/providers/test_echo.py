from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmrelay.config import get_settings
from llmrelay.errors import InvalidRequest
from llmrelay.events import BlockEnd, BlockStart, Finish, StreamEvent, TextDelta, Usage
from llmrelay.models import Message, Role
from llmrelay.providers.base import ProviderCall
from llmrelay.providers.echo import EchoProvider, split_words


def call_for(
    *turns: tuple[Role, str], system: str | None = None, max_tokens: int | None = None
) -> ProviderCall:
    messages = tuple(Message(role=role, content=content) for role, content in turns)
    return ProviderCall("echo", "echo", messages, system=system, max_tokens=max_tokens)


async def run(call: ProviderCall, provider: EchoProvider | None = None) -> list[StreamEvent]:
    return [event async for event in (provider or EchoProvider(delay_ms=0)).stream(call)]


def deltas(events: list[StreamEvent]) -> list[str]:
    return [e.text for e in events if isinstance(e, TextDelta)]


def finish(events: list[StreamEvent]) -> Finish:
    assert isinstance(events[-1], Finish)
    assert all(isinstance(e, TextDelta | BlockStart | BlockEnd) for e in events[:-1])
    return events[-1]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Hello", id="one-word"),
        pytest.param("Hello brave new world", id="words"),
        pytest.param("  leading and trailing  ", id="outer-spaces"),
        pytest.param("a  b\t\tc\n\nd", id="runs-of-whitespace"),
        pytest.param("line one\r\nline two\n", id="newlines"),
        pytest.param("héllo wörld ça va", id="accents"),
        pytest.param("日本語 の テキスト", id="cjk"),
        pytest.param("👋🏽 family 👨‍👩‍👧 done", id="emoji-sequences"),
        pytest.param("e\u0301 combining", id="combining-mark"),
        pytest.param("non\u00a0breaking space", id="nbsp"),
        pytest.param("   ", id="only-whitespace"),
    ],
)
async def test_the_deltas_reassemble_the_text_exactly(text: str) -> None:
    events = await run(call_for(("user", text)))
    assert "".join(deltas(events)) == text
    assert finish(events).reason == "stop"


async def test_each_word_is_its_own_delta() -> None:
    events = await run(call_for(("user", "one two  three")))
    assert deltas(events) == ["one ", "two  ", "three"]


@settings(max_examples=50, derandomize=True, deadline=None)
@given(st.text())
def test_split_words_always_concatenates_back(text: str) -> None:
    pieces = split_words(text)
    assert "".join(pieces) == text
    assert all(piece for piece in pieces)
    assert all(piece.strip() == "" or len(piece.split()) == 1 for piece in pieces)


async def test_the_last_user_message_is_echoed() -> None:
    events = await run(
        call_for(("user", "first question"), ("assistant", "an answer"), ("user", "second one"))
    )
    assert "".join(deltas(events)) == "second one"


async def test_even_when_an_assistant_turn_comes_last() -> None:
    events = await run(call_for(("user", "the question"), ("assistant", "partial answer")))
    assert "".join(deltas(events)) == "the question"


async def test_max_tokens_cuts_the_answer_and_says_length() -> None:
    events = await run(call_for(("user", "one two three four five"), max_tokens=2))
    assert deltas(events) == ["one ", "two "]
    assert finish(events).reason == "length"
    assert finish(events).usage.output_tokens == 2


@pytest.mark.parametrize("max_tokens", [3, 4], ids=["exactly-enough", "more-than-enough"])
async def test_max_tokens_that_fit_the_answer_finish_with_stop(max_tokens: int) -> None:
    events = await run(call_for(("user", "one two three"), max_tokens=max_tokens))
    assert "".join(deltas(events)) == "one two three"
    assert finish(events).reason == "stop"


async def test_usage_counts_prompt_words_with_the_system_prompt_and_answer_pieces() -> None:
    events = await run(
        call_for(("user", "a b c"), ("assistant", "d e"), ("user", "f g"), system="be brief")
    )
    assert finish(events).usage == Usage(input_tokens=9, output_tokens=2)


async def test_a_call_without_a_user_message_is_an_invalid_request() -> None:
    with pytest.raises(InvalidRequest, match="user message"):
        await run(call_for(("assistant", "hello")))


async def timed(provider: EchoProvider, text: str) -> tuple[float, float]:
    """Seconds to the first delta, and to the finish."""
    started = time.perf_counter()
    first = None
    async for _ in provider.stream(call_for(("user", text))):
        if first is None:
            first = time.perf_counter() - started
    return first or 0.0, time.perf_counter() - started


async def test_the_delay_variable_paces_the_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMRELAY_ECHO_DELAY_MS", "80")
    get_settings.cache_clear()
    first, total = await timed(EchoProvider(), "one two three four")
    assert first < 0.060  # the first word goes out at once, not after a pause
    assert total >= 3 * 0.080 * 0.9  # three pauses between four words
    assert total < 2.0


async def test_an_explicit_delay_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LLMRELAY_ECHO_DELAY_MS", "1000")
    get_settings.cache_clear()
    _, total = await timed(EchoProvider(delay_ms=0), "one two three four five")
    assert total < 0.5


async def test_without_a_delay_the_answer_is_immediate() -> None:
    _, total = await timed(EchoProvider(), " ".join(["word"] * 200))
    assert total < 0.5


async def test_the_demo_command_streams_reasoning_text_and_a_tool_call() -> None:
    from llmrelay.blocks import BlockCollector
    from llmrelay.events import ReasoningBlock, TextBlock, ToolCall

    events = await run(call_for(("user", "/demo Zürich weather")))
    collector = BlockCollector()
    collector.extend(events)
    reasoning, text, call = collector.blocks()
    assert isinstance(reasoning, ReasoningBlock)
    assert reasoning.text
    assert reasoning.signature
    assert text == TextBlock("Zürich weather")
    assert isinstance(call, ToolCall)
    assert call.name == "echo"
    assert call.input() == {"text": "Zürich weather"}
    last = events[-1]
    assert isinstance(last, Finish)
    assert last.reason == "tool_calls"
