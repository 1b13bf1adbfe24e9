"""Bedrock through the real boto3 client and the loopback fake that speaks ConverseStream's
binary event stream: blocks, indices, signatures, usage, and the request boto3 sent."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from llmrelay import ChatRequest, stream_chat
from llmrelay.blocks import BlockCollector
from llmrelay.config import Settings, get_settings
from llmrelay.errors import UpstreamBadRequest
from llmrelay.events import (
    BlockEnd,
    BlockStart,
    Finish,
    ReasoningBlock,
    StreamEvent,
    TextBlock,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from llmrelay.models import Message, assistant_message
from llmrelay.providers.bedrock_clients import clear_clients
from llmrelay.secrets import StaticSecrets
from llmrelay.testing import FakeBedrock, FakeToolCall, Reply
from llmrelay.testing.bedrock_fake import credential_of, model_of

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, _shared_botocore_loader: None) -> Iterator[FakeBedrock]:
    """The fake, reached the standard way: boto3's ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``."""
    with FakeBedrock(access_key_id="testing") as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", server.url)
        yield server
    clear_clients()


async def run(
    messages: list[dict[str, Any]] | None = None,
    env: dict[str, str] | None = None,
    **fields: Any,
) -> list[StreamEvent]:
    body = {
        "model": f"bedrock/{MODEL}",
        "messages": messages or [{"role": "user", "content": "hi"}],
        **fields,
    }
    request = ChatRequest.parse(body)
    settings = Settings.from_env(env or {})
    return [e async for e in stream_chat(request, settings=settings, secrets=StaticSecrets())]


def blocks_of(events: list[StreamEvent]) -> list[Any]:
    collector = BlockCollector()
    collector.extend(events)
    return collector.blocks()


@pytest.mark.parametrize("split_writes", [False, True], ids=["whole-writes", "split-mid-utf8"])
async def test_text_with_multibyte_characters_arrives_whole(
    fake: FakeBedrock, split_writes: bool
) -> None:
    pieces = ("Grüße ", "aus ", "日本", "語 🌸")
    fake.queue(Reply(pieces=pieces, split_writes=split_writes))
    events = await run()
    assert [e.text for e in events if isinstance(e, TextDelta)] == list(pieces)
    assert blocks_of(events) == [TextBlock("".join(pieces))]
    assert events[-1] == Finish("stop", Usage(7, 4))


async def test_the_request_is_signed_by_the_credential_chain_for_the_region(
    fake: FakeBedrock,
) -> None:
    await run()
    (request,) = fake.requests
    assert credential_of(request) == ("testing", "us-east-1", "bedrock")
    assert model_of(request) == MODEL
    assert request.path.endswith("/converse-stream")


async def test_a_region_setting_overrides_aws_region(
    fake: FakeBedrock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMRELAY_BEDROCK_REGION", "eu-central-1")  # a process setting
    get_settings.cache_clear()
    await run()
    assert credential_of(fake.requests[0]) == ("testing", "eu-central-1", "bedrock")


WEATHER = FakeToolCall("tooluse_a1", "weather", ('{"city": "Zü', 'rich", "note": "日本', '語"}'))
CLOCK = FakeToolCall("tooluse_b2", "clock", ('{"tz": ', '"Europe/Zürich"}'))


@pytest.mark.parametrize("split_writes", [False, True], ids=["whole-writes", "split-mid-utf8"])
async def test_two_tool_calls_after_reasoning_get_their_own_indices(
    fake: FakeBedrock, split_writes: bool
) -> None:
    fake.queue(
        Reply(
            reasoning=("Two ", "lookups."),
            signature="c2lnbmF0dXJl",
            pieces=("Checking.",),
            tool_calls=(WEATHER, CLOCK),
            finish_reason="tool_calls",
            split_writes=split_writes,
        )
    )
    events = await run()
    starts = [e for e in events if isinstance(e, BlockStart)]
    assert [(s.index, s.kind, s.id, s.name) for s in starts] == [
        (0, "reasoning", None, None),
        (1, "text", None, None),
        (2, "tool_call", WEATHER.id, "weather"),
        (3, "tool_call", CLOCK.id, "clock"),
    ]
    fragments = [(e.index, e.arguments) for e in events if isinstance(e, ToolCallDelta)]
    assert fragments == [(2, f) for f in WEATHER.fragments] + [(3, f) for f in CLOCK.fragments]
    assert blocks_of(events) == [
        ReasoningBlock("Two lookups.", "c2lnbmF0dXJl"),
        TextBlock("Checking."),
        ToolCall(WEATHER.id, "weather", WEATHER.arguments),
        ToolCall(CLOCK.id, "clock", CLOCK.arguments),
    ]
    assert [e.index for e in events if isinstance(e, BlockEnd)] == [0, 1, 2, 3]
    assert isinstance(events[-1], Finish)
    assert events[-1].reason == "tool_calls"


async def test_reasoning_signature_and_redacted_content_go_back_unchanged(
    fake: FakeBedrock,
) -> None:
    secret = bytes(range(256))
    fake.queue(
        Reply(
            reasoning=("Let me ", "think."),
            signature="EqQBCkgIARABGAIiQL+/Zm9v==",
            redacted=(base64.b64encode(secret).decode(),),
            pieces=("Answer.",),
            tool_calls=(WEATHER,),
            finish_reason="tool_calls",
        )
    )
    first = await run()
    blocks = blocks_of(first)
    assert blocks[:2] == [
        ReasoningBlock("Let me think.", "EqQBCkgIARABGAIiQL+/Zm9v=="),
        ReasoningBlock("", None, base64.b64encode(secret).decode()),
    ]
    turn = assistant_message(blocks).model_dump(exclude_none=True)
    result = {"role": "tool", "tool_call_id": WEATHER.id, "content": "12 °C"}
    await run([{"role": "user", "content": "hi"}, turn, result])
    sent = fake.requests[1].body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[1]["content"] == [
        {
            "reasoningContent": {
                "reasoningText": {
                    "text": "Let me think.",
                    "signature": "EqQBCkgIARABGAIiQL+/Zm9v==",
                }
            }
        },
        # botocore sends blobs base64: the bytes Bedrock gave, byte for byte.
        {"reasoningContent": {"redactedContent": base64.b64encode(secret).decode()}},
        {"text": "Answer."},
        {
            "toolUse": {
                "toolUseId": WEATHER.id,
                "name": "weather",
                "input": {"city": "Zürich", "note": "日本語"},
            }
        },
    ]
    assert sent[2]["content"] == [
        {"toolResult": {"toolUseId": WEATHER.id, "content": [{"text": "12 °C"}]}}
    ]


async def test_usage_counts_cached_input_tokens_in_the_input(fake: FakeBedrock) -> None:
    fake.queue(Reply(input_tokens=1845, output_tokens=9, cached_tokens=1800, cache_write_tokens=40))
    events = await run()
    assert events[-1] == Finish(
        "stop", Usage(1845, 9, cache_read_tokens=1800, cache_write_tokens=40)
    )


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("guardrail_intervened", "content_filter"),
        ("content_filtered", "content_filter"),
        ("malformed_tool_use", "other"),
    ],
)
async def test_stop_reasons_map_to_finish_reasons(
    fake: FakeBedrock, stop_reason: str, finish: str
) -> None:
    fake.queue(Reply(finish_reason=stop_reason))
    events = await run()
    assert isinstance(events[-1], Finish)
    assert events[-1].reason == finish


async def test_system_inference_config_and_tools_reach_bedrock(fake: FakeBedrock) -> None:
    tool = {
        "name": "weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        "strict": True,
    }
    await run(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        max_tokens=300,
        temperature=0.2,
        top_p=0.9,
        stop=["END", "STOP"],
        tools=[tool],
        tool_choice={"name": "weather"},
        user="user-42@example.com",
    )
    body = fake.requests[0].body
    assert body["system"] == [{"text": "Be brief."}]
    assert body["inferenceConfig"] == {
        "maxTokens": 300,
        "temperature": 0.2,
        "topP": 0.9,
        "stopSequences": ["END", "STOP"],
    }
    assert body["toolConfig"] == {
        "tools": [
            {
                "toolSpec": {
                    "name": "weather",
                    "description": "The weather in a city",
                    "inputSchema": {"json": tool["parameters"]},
                    "strict": True,
                }
            }
        ],
        "toolChoice": {"tool": {"name": "weather"}},
    }
    assert body["requestMetadata"] == {"user": "user-42@example.com"}


async def test_reasoning_effort_turns_claude_thinking_on(fake: FakeBedrock) -> None:
    fake.queue(Reply(reasoning=("Hmm.",), pieces=("Yes.",)))
    events = await run(reasoning_effort="low", max_tokens=3000)
    body = fake.requests[0].body
    thinking = {"type": "enabled", "budget_tokens": 2048}
    assert body["additionalModelRequestFields"] == {"thinking": thinking}
    assert body["inferenceConfig"] == {"maxTokens": 3000}
    assert isinstance(blocks_of(events)[0], ReasoningBlock)


PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n fake image").decode()
PDF = base64.b64encode(b"%PDF-1.7 fake").decode()


async def test_images_and_documents_go_as_bytes(fake: FakeBedrock) -> None:
    content = [
        {"type": "text", "text": "Compare"},
        {"type": "image", "url": f"data:image/png;base64,{PNG}"},
        {"type": "file", "data": PDF, "media_type": "application/pdf", "filename": "Q3 report.pdf"},
        {"type": "file", "data": PDF, "media_type": "application/pdf", "filename": "Q3 report.pdf"},
        {"type": "file", "data": PDF, "media_type": "text/plain"},
    ]
    await run([{"role": "user", "content": content}])
    sent = fake.requests[0].body["messages"][0]["content"]
    assert sent == [
        {"text": "Compare"},
        {"image": {"format": "png", "source": {"bytes": PNG}}},
        {"document": {"format": "pdf", "name": "Q3 report-pdf", "source": {"bytes": PDF}}},
        {"document": {"format": "pdf", "name": "Q3 report-pdf (2)", "source": {"bytes": PDF}}},
        {"document": {"format": "txt", "name": "document-3", "source": {"bytes": PDF}}},
    ]


async def test_json_schema_response_format_becomes_output_config(fake: FakeBedrock) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    await run(response_format={"type": "json_schema", "name": "count", "schema": schema})
    text_format = fake.requests[0].body["outputConfig"]["textFormat"]
    assert text_format["type"] == "json_schema"
    assert text_format["structure"]["jsonSchema"]["name"] == "count"
    import json

    assert json.loads(text_format["structure"]["jsonSchema"]["schema"]) == schema


def test_assistant_message_of_blocks_is_a_valid_next_turn() -> None:
    message = assistant_message([ReasoningBlock("x", "sig"), TextBlock("")])
    assert isinstance(message, Message)


async def test_a_signature_altered_on_the_way_back_is_refused(fake: FakeBedrock) -> None:
    fake.queue(Reply(reasoning=("Hmm.",), pieces=("Yes.",)))
    reasoning, text = blocks_of(await run())
    assert isinstance(reasoning, ReasoningBlock)
    assert reasoning.signature  # one the fake issued for this text
    altered = ReasoningBlock(reasoning.text, reasoning.signature[:-4] + "AAAA")
    turn = assistant_message([altered, text]).model_dump(exclude_none=True)
    with pytest.raises(UpstreamBadRequest, match="Invalid signature"):
        await run([{"role": "user", "content": "hi"}, turn, {"role": "user", "content": "ok?"}])
