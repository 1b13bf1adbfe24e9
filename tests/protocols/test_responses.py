"""The Responses encoders: every stream event validates as the SDK's own type, items open
and close around their blocks, parallel calls keep their own output index, opaque reasoning
data survives the round trip, and every stream ends in exactly one outcome."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter
from tests.protocols.sse_reader import read_sse

from llmrelay.errors import UpstreamUnavailable
from llmrelay.events import (
    Block,
    BlockEnd,
    BlockStart,
    Failure,
    Finish,
    ReasoningBlock,
    ReasoningDelta,
    TextBlock,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from llmrelay.protocols.base import Heartbeat, StreamItem, StreamMeta
from llmrelay.protocols.responses import ResponseInfo, encode_response, encode_response_events
from llmrelay.protocols.responses_items import ENVELOPE, encrypted_content, opaque_of
from llmrelay.sse import PING

META = StreamMeta(id="req-1", provider="echo", model="echo/echo", created=1_763_726_400)
INFO = ResponseInfo(META, {"tools": [], "parallel_tool_calls": True, "tool_choice": "auto"})
EVENT = TypeAdapter(ResponseStreamEvent)
A = ToolCall("call_a", "weather", '{"city": "Zürich"}')
B = ToolCall("call_b", "clock", '{"tz": "UTC"}')


async def items_of(*items: StreamItem) -> AsyncIterator[StreamItem]:
    for item in items:
        yield item


async def events_of(*items: StreamItem) -> tuple[bytes, list[dict[str, Any]]]:
    raw = b"".join([frame async for frame in encode_response_events(INFO, items_of(*items))])
    events = read_sse(raw)
    documents = [json.loads(event.data) for event in events]
    assert [event.event for event in events] == [d["type"] for d in documents]
    assert [d["sequence_number"] for d in documents] == list(range(len(documents)))
    for document in documents:
        if document["type"] != "response.failed":  # its code is llmrelay's, not a literal
            EVENT.validate_python(document)
    return raw, documents


def of_type(documents: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in documents if d["type"] == kind]


async def test_parallel_calls_interleaved_keep_their_own_items_and_arguments() -> None:
    _, documents = await events_of(
        BlockStart(0, "tool_call", A.id, A.name),
        BlockStart(1, "tool_call", B.id, B.name),
        ToolCallDelta('{"city": ', 0),
        ToolCallDelta('{"tz": ', 1),
        ToolCallDelta('"Zürich"}', 0),
        ToolCallDelta('"UTC"}', 1),
        BlockEnd(1, B),
        BlockEnd(0, A),
        Finish("tool_calls"),
    )
    added = of_type(documents, "response.output_item.added")
    assert [(d["output_index"], d["item"]["call_id"]) for d in added] == [(0, A.id), (1, B.id)]
    deltas: dict[int, str] = {0: "", 1: ""}
    for delta in of_type(documents, "response.function_call_arguments.delta"):
        deltas[delta["output_index"]] += delta["delta"]
    assert deltas == {0: A.arguments, 1: B.arguments}
    done = of_type(documents, "response.function_call_arguments.done")
    assert [(d["output_index"], d["name"], d["arguments"]) for d in done] == [
        (1, B.name, B.arguments),
        (0, A.name, A.arguments),
    ]
    final = Response.model_validate(documents[-1]["response"])
    assert [(item.type, getattr(item, "call_id", None)) for item in final.output] == [
        ("function_call", A.id),
        ("function_call", B.id),
    ]
    assert final.status == "completed"


async def test_reasoning_opens_a_summary_part_and_its_signature_shows_only_when_done() -> None:
    _, documents = await events_of(
        BlockStart(0, "reasoning"),
        ReasoningDelta("Think", 0),
        ReasoningDelta("ing", 0),
        ReasoningDelta(index=0, signature="sig"),
        BlockEnd(0, ReasoningBlock("Thinking", "sig")),
        Finish(),
    )
    kinds = [d["type"] for d in documents[2:-1]]
    assert kinds == [
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
    ]
    assert "encrypted_content" not in documents[2]["item"]
    assert documents[-2]["item"]["encrypted_content"] == "sig"
    assert documents[-2]["item"]["summary"] == [{"type": "summary_text", "text": "Thinking"}]


async def test_redacted_reasoning_alone_makes_an_item_with_no_summary() -> None:
    block = ReasoningBlock("", None, "REDACTED==")
    _, documents = await events_of(BlockEnd(0, block), Finish())
    [done] = of_type(documents, "response.output_item.done")
    assert done["item"]["summary"] == []
    assert opaque_of(done["item"]["encrypted_content"]) == (None, "REDACTED==")


@pytest.mark.parametrize(
    "block",
    [
        ReasoningBlock("t", "sig/+="),
        ReasoningBlock("", None, "data=="),
        ReasoningBlock("t", "sig", "data=="),
    ],
    ids=["signature", "redacted", "both"],
)
def test_encrypted_content_reads_back_into_the_same_opaque_data(block: ReasoningBlock) -> None:
    opaque = encrypted_content(block)
    assert opaque is not None
    assert opaque_of(opaque) == (block.signature, block.redacted)
    assert (opaque == block.signature) is (block.redacted is None)


@pytest.mark.parametrize(
    "value",
    [ENVELOPE + "@@@", ENVELOPE + "WzFd", ENVELOPE + "eyJzaWduYXR1cmUiOiJzIn0="],
    ids=["not-base64", "not-an-object", "no-redacted-data"],
)
def test_a_broken_envelope_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="not an encrypted_content llmrelay gave"):
        opaque_of(value)


async def test_deltas_without_starts_still_open_and_close_their_items() -> None:
    _, documents = await events_of(
        TextDelta("Hel"), TextDelta("lo"), ReasoningDelta("hm", 1), Finish()
    )
    final = Response.model_validate(documents[-1]["response"])
    assert final.output_text == "Hello"
    assert [item.type for item in final.output] == ["message", "reasoning"]
    assert {getattr(item, "status", None) for item in final.output} == {"completed"}


async def test_a_tool_call_that_only_ends_still_names_its_call_from_the_start() -> None:
    _, documents = await events_of(ToolCallDelta("{}", 0), BlockEnd(0, A), Finish("tool_calls"))
    [added] = of_type(documents, "response.output_item.added")
    assert (added["item"]["call_id"], added["item"]["name"]) == (A.id, A.name)
    assert of_type(documents, "response.function_call_arguments.delta") == []


async def test_a_failure_closes_open_items_as_incomplete_then_fails() -> None:
    usage = Usage(output_tokens=1)
    _, documents = await events_of(
        TextDelta("Hel"), Failure(UpstreamUnavailable("went away"), usage)
    )
    assert [d["type"] for d in documents[-4:]] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.failed",
    ]
    response = documents[-1]["response"]
    assert response["status"] == "failed"
    assert response["error"] == {
        "code": "upstream_unavailable",
        "message": "went away",
        "param": None,
    }
    assert response["output"][0]["status"] == "incomplete"
    assert response["usage"]["output_tokens"] == 1


async def test_a_stream_that_just_ends_fails_and_pings_pass_through() -> None:
    raw, documents = await events_of(Heartbeat(), TextDelta("a"))
    assert PING in raw
    assert documents[-1]["type"] == "response.failed"
    assert documents[-1]["response"]["error"]["code"] == "internal_error"


@pytest.mark.parametrize(
    ("reason", "status", "details"),
    [
        ("stop", "completed", None),
        ("other", "completed", None),
        ("tool_calls", "completed", None),
        ("length", "incomplete", {"reason": "max_output_tokens"}),
        ("content_filter", "incomplete", {"reason": "content_filter"}),
    ],
)
async def test_the_finish_reason_sets_the_status_and_terminal_event(
    reason: Any, status: str, details: object
) -> None:
    _, documents = await events_of(TextDelta("a"), Finish(reason, model="other/model"))
    response = documents[-1]["response"]
    assert documents[-1]["type"] == f"response.{status}"
    assert (response["status"], response["incomplete_details"]) == (status, details)
    assert response["model"] == "other/model"  # the fallback that answered


@pytest.mark.parametrize(
    ("reason", "last"),
    [("stop", "completed"), ("length", "incomplete"), ("content_filter", "incomplete")],
)
async def test_a_stop_that_cuts_the_last_block_leaves_its_item_incomplete(
    reason: Any, last: str
) -> None:
    """The block before a length or content-filter stop was cut: its item says so, in its
    ``output_item.done`` and in the terminal response; a block something followed was whole."""
    _, documents = await events_of(
        BlockStart(0, "reasoning"),
        ReasoningDelta("Hm.", 0),
        BlockEnd(0, ReasoningBlock("Hm.")),
        BlockStart(1, "text"),
        TextDelta("Hel", index=1),
        BlockEnd(1, TextBlock("Hel")),
        Finish(reason),
    )
    done = [d["item"]["status"] for d in of_type(documents, "response.output_item.done")]
    assert done == ["completed", last]
    response = documents[-1]["response"]
    assert [item["status"] for item in response["output"]] == ["completed", last]
    # The last item closes just before the terminal event, the earlier one as the next began.
    assert documents[-2]["type"] == "response.output_item.done"
    assert documents[-1]["type"] == f"response.{'completed' if reason == 'stop' else 'incomplete'}"


def test_a_whole_answer_cut_by_its_length_has_its_last_item_incomplete() -> None:
    blocks: list[Block] = [ReasoningBlock("Hm.", "sig"), TextBlock("Hel")]
    response = Response.model_validate_json(encode_response(INFO, "Hel", Finish("length"), blocks))
    assert [item["status"] for item in response.model_dump()["output"]] == [
        "completed",
        "incomplete",
    ]
    whole = Response.model_validate_json(encode_response(INFO, "Hel", Finish("stop"), blocks))
    assert [item["status"] for item in whole.model_dump()["output"]] == ["completed", "completed"]


def test_a_whole_answer_is_one_response_with_every_block_as_an_item() -> None:
    blocks: list[Block] = [ReasoningBlock("Hm.", "sig"), TextBlock("Hi"), A, B]
    usage = Usage(10, 5, cache_read_tokens=4, reasoning_tokens=2)
    raw = encode_response(INFO, "Hi", Finish("tool_calls", usage), blocks)
    response = Response.model_validate_json(raw)
    assert [item.id for item in response.output] == [
        "rs_req-1_0",
        "msg_req-1_1",
        "fc_req-1_2",
        "fc_req-1_3",
    ]
    assert response.output_text == "Hi"
    assert response.usage is not None
    assert response.usage.input_tokens_details.cached_tokens == 4
    assert response.usage.output_tokens_details.reasoning_tokens == 2
    assert response.id == "resp_req-1"
