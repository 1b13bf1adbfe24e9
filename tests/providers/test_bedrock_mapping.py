"""The pure halves of the Bedrock adapter: a call as Converse's arguments, and Converse's
events as blocks, table by table."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from llmrelay.errors import UnsupportedParameter, UpstreamUnavailable
from llmrelay.events import BlockEnd, Finish, ReasoningBlock, TextBlock, Usage
from llmrelay.models import ChatRequest
from llmrelay.providers.base import ProviderCall
from llmrelay.providers.bedrock_events import ConverseEvents
from llmrelay.providers.bedrock_params import converse_request, document_name

PNG = base64.b64encode(b"\x89PNG fake").decode()


def call_of(**fields: Any) -> ProviderCall:
    body = {"messages": [{"role": "user", "content": "hi"}], **fields}
    request = ChatRequest.parse(body)
    options = {k: getattr(request, k) for k in ("tool_choice", "response_format")}
    return ProviderCall(
        "bedrock",
        "m",
        tuple(request.messages),
        tools=tuple(request.tools or ()),
        **{k: v for k, v in options.items() if v is not None},
    )


@pytest.mark.parametrize(
    ("choice", "sent"),
    [("auto", {"auto": {}}), ("required", {"any": {}}), ({"name": "t"}, {"tool": {"name": "t"}})],
)
def test_tool_choices(choice: object, sent: dict[str, Any]) -> None:
    request = converse_request(call_of(tools=[{"name": "t"}], tool_choice=choice))
    assert request["toolConfig"]["toolChoice"] == sent


def test_tool_choice_without_tools_says_nothing() -> None:
    assert "toolConfig" not in converse_request(call_of(tool_choice="none"))


def test_a_text_response_format_says_nothing() -> None:
    assert "outputConfig" not in converse_request(call_of(response_format={"type": "text"}))


def test_tool_results_in_a_row_are_one_user_turn_with_text_and_images() -> None:
    messages = [
        {"role": "user", "content": "weather and a map?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": ""},
                {"type": "tool_call", "id": "a", "name": "w", "arguments": ""},
                {"type": "tool_call", "id": "b", "name": "m", "arguments": '{"z": 3}'},
            ],
        },
        {"role": "tool", "tool_call_id": "a", "content": "sunny"},
        {
            "role": "tool",
            "tool_call_id": "b",
            "content": [{"type": "image", "data": PNG, "media_type": "image/png"}],
        },
        {"role": "user", "content": "thanks"},
    ]
    sent = converse_request(call_of(messages=messages))["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[1]["content"] == [
        {"toolUse": {"toolUseId": "a", "name": "w", "input": {}}},
        {"toolUse": {"toolUseId": "b", "name": "m", "input": {"z": 3}}},
    ]
    image = {"image": {"format": "png", "source": {"bytes": base64.b64decode(PNG)}}}
    assert sent[2]["content"] == [
        {"toolResult": {"toolUseId": "a", "content": [{"text": "sunny"}]}},
        {"toolResult": {"toolUseId": "b", "content": [image]}},
        {"text": "thanks"},
    ]


def test_tool_history_without_tools_gets_the_tools_it_called() -> None:
    messages = [
        {"role": "user", "content": "a"},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_call", "id": "1", "name": "w", "arguments": "{}"},
                {"type": "tool_call", "id": "2", "name": "w", "arguments": "{}"},
                {"type": "tool_call", "id": "3", "name": "clock", "arguments": "{}"},
            ],
        },
        {"role": "tool", "tool_call_id": "1", "content": "x"},
    ]
    config = converse_request(call_of(messages=messages))["toolConfig"]
    assert [t["toolSpec"]["name"] for t in config["tools"]] == ["w", "clock"]
    assert config["tools"][0]["toolSpec"]["inputSchema"] == {"json": {"type": "object"}}
    assert "toolChoice" not in config


def test_an_assistant_turn_of_empty_text_only_is_left_out() -> None:
    messages = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": [{"type": "text", "text": ""}]},
        {"role": "user", "content": "b"},
    ]
    sent = converse_request(call_of(messages=messages))["messages"]
    assert sent == [{"role": "user", "content": [{"text": "a"}, {"text": "b"}]}]


@pytest.mark.parametrize(
    ("filename", "name"),
    [
        ("report.pdf", "report-pdf"),
        ("  Q3   (final) [v2].txt ", "Q3 (final) [v2]-txt"),
        ("..", "document-4"),
        (None, "document-4"),
        ("x" * 300, "x" * 200),
    ],
)
def test_document_names_keep_to_what_bedrock_allows(filename: str | None, name: str) -> None:
    assert document_name(filename, 4) == name


def feed(events: list[dict[str, Any]]) -> list[Any]:
    converse = ConverseEvents()
    out: list[Any] = []
    for event in events:
        out += converse.feed(event)
    return out + converse.finish()


def delta(index: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"contentBlockDelta": {"contentBlockIndex": index, "delta": body}}


def stop(index: int) -> dict[str, Any]:
    return {"contentBlockStop": {"contentBlockIndex": index}}


def test_two_reasoning_blocks_in_a_row_stay_two() -> None:
    events = feed(
        [
            {"messageStart": {"role": "assistant"}},
            delta(0, {"reasoningContent": {"text": "a"}}),
            delta(0, {"reasoningContent": {"signature": "s1"}}),
            stop(0),
            delta(1, {"reasoningContent": {"redactedContent": b"\x01\x02"}}),
            stop(1),
            delta(2, {"reasoningContent": {"text": "b"}}),
            delta(2, {"reasoningContent": {"signature": "s2"}}),
            stop(2),
            delta(3, {"text": "ok"}),
            delta(3, {"citation": {"title": "ignored: not a block kind of llmrelay's"}}),
            stop(3),
            {"messageStop": {"stopReason": "end_turn"}},
            {"metadata": {"usage": {"inputTokens": 3, "outputTokens": 4}, "metrics": {}}},
            {"somethingNewer": {}},
        ]
    )
    blocks = [e.block for e in events if isinstance(e, BlockEnd)]
    assert blocks == [
        ReasoningBlock("a", "s1"),
        ReasoningBlock("", None, base64.b64encode(b"\x01\x02").decode()),
        ReasoningBlock("b", "s2"),
        TextBlock("ok"),
    ]
    assert events[-1] == Finish("stop", Usage(3, 4))


def test_a_stream_that_ends_without_message_stop_was_cut_short() -> None:
    with pytest.raises(UpstreamUnavailable, match="before the answer was complete"):
        feed([{"messageStart": {"role": "assistant"}}, delta(0, {"text": "Hel"})])


def test_a_content_block_start_that_is_not_a_tool_use_opens_nothing() -> None:
    events = feed(
        [
            {"contentBlockStart": {"contentBlockIndex": 0, "start": {"image": {}}}},
            {"messageStop": {"stopReason": "end_turn"}},
        ]
    )
    assert events == [Finish("stop", Usage())]


def reasoning_call(model: str, **fields: Any) -> dict[str, Any]:
    body = {"messages": [{"role": "user", "content": "hi"}], **fields}
    request = ChatRequest.parse(body)
    call = ProviderCall(
        "bedrock",
        model,
        tuple(request.messages),
        max_tokens=request.max_tokens,
        temperature=request.temperature,
        top_p=request.top_p,
        tools=tuple(request.tools or ()),
        tool_choice=request.tool_choice,
        reasoning_effort=request.reasoning_effort,
    )
    return converse_request(call)


CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


@pytest.mark.parametrize(
    ("effort", "budget", "max_tokens"),
    [("minimal", 1024, 5120), ("low", 2048, 6144), ("medium", 8192, 12288), ("high", 16384, 20480)],
)
def test_claude_thinks_with_anthropic_budgets(effort: str, budget: int, max_tokens: int) -> None:
    request = reasoning_call(CLAUDE, reasoning_effort=effort)
    thinking = {"type": "enabled", "budget_tokens": budget}
    assert request["additionalModelRequestFields"] == {"thinking": thinking}
    assert request["inferenceConfig"] == {"maxTokens": max_tokens}
    assert "outputConfig" not in request


def test_claude_keeps_a_max_tokens_above_the_budget() -> None:
    request = reasoning_call(CLAUDE, reasoning_effort="low", max_tokens=3000)
    assert request["inferenceConfig"] == {"maxTokens": 3000}


def test_claude_fits_its_budget_below_a_smaller_max_tokens() -> None:
    """As the anthropic provider does: ``max_tokens`` is the caller's limit, the effort a hint."""
    request = reasoning_call(CLAUDE, reasoning_effort="low", max_tokens=2048)
    assert request["inferenceConfig"] == {"maxTokens": 2048}
    thinking = {"type": "enabled", "budget_tokens": 2047}
    assert request["additionalModelRequestFields"] == {"thinking": thinking}


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        pytest.param({"max_tokens": 1024}, "max_tokens", id="max-tokens-not-above-least-budget"),
        pytest.param({"temperature": 0.3}, "temperature", id="temperature"),
        pytest.param({"top_p": 0.5}, "top_p", id="top-p"),
        pytest.param(
            {"tools": [{"name": "t"}], "tool_choice": "required"}, "tool_choice", id="forced-tool"
        ),
    ],
)
def test_claude_thinking_refuses_what_anthropic_refuses(fields: dict[str, Any], param: str) -> None:
    with pytest.raises(UnsupportedParameter) as refused:
        reasoning_call(CLAUDE, reasoning_effort="low", **fields)
    assert refused.value.param == param


@pytest.mark.parametrize(("effort", "sent"), [("minimal", "low"), ("medium", "medium")])
def test_other_models_get_the_neutral_effort(effort: str, sent: str) -> None:
    request = reasoning_call("amazon.nova-premier-v1:0", reasoning_effort=effort)
    assert request["outputConfig"] == {"effort": sent}
    assert "additionalModelRequestFields" not in request


def test_no_reasoning_effort_of_none() -> None:
    request = reasoning_call(CLAUDE, reasoning_effort="none")
    assert "additionalModelRequestFields" not in request
    assert "outputConfig" not in request
