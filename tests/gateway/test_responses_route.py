"""``POST /v1/responses`` through the official ``openai`` SDK (``responses.create`` and
``responses.stream``), in process."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import openai
import pytest
from openai import AsyncOpenAI
from tests.gateway.app_client import call, sdk_transport
from tests.gateway.fakes import Context, Pause, Script, Step
from tests.protocols.sse_reader import read_sse

from llmrelay import stream_chat
from llmrelay.errors import RateLimited, UpstreamUnavailable
from llmrelay.events import Failure, Finish, StreamEvent, TextDelta, Usage
from llmrelay.gateway import GatewayOptions, build_app
from llmrelay.http import App
from llmrelay.models import ChatRequest
from llmrelay.parts import ReasoningPart, ToolCallPart
from llmrelay.sse import PING

PATH = "/v1/responses"
SIGNATURE = hashlib.sha256("Zürich".encode()).hexdigest()  # what the echo demo signs
WEATHER: Any = {
    "type": "function",
    "name": "weather",
    "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"text": {"type": "string"}}},
    "strict": False,
}


def sdk(app: App) -> AsyncOpenAI:
    http_client = httpx2.AsyncClient(transport=sdk_transport(app))
    return AsyncOpenAI(
        base_url="http://gateway.test/v1", api_key="unused", http_client=http_client, max_retries=0
    )


def scripted_app(*steps: Step, **options: Any) -> tuple[App, Script]:
    script = Script(steps)
    app = build_app(stream=lambda chat: script.stream(), options=GatewayOptions(**options))
    return app, script


def recording_app(seen: list[ChatRequest]) -> App:
    """The real echo provider, with every neutral request it is given kept in ``seen``."""

    async def stream(chat: ChatRequest) -> AsyncIterator[StreamEvent]:
        seen.append(chat)
        async for event in stream_chat(chat):
            yield event

    return build_app(stream=stream, options=GatewayOptions())


async def test_a_string_input_gets_one_response_with_its_text_and_usage() -> None:
    async with sdk(build_app()) as client:
        response = await client.responses.create(
            model="echo/echo", input="hello responses world", instructions="Be brief."
        )
    assert response.object == "response"
    assert response.status == "completed"
    assert response.output_text == "hello responses world"
    assert response.model == "echo/echo"
    assert response.instructions == "Be brief."
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (5, 3)
    assert response.usage.total_tokens == 8


async def test_the_sdk_streams_text_deltas_and_the_completed_response() -> None:
    client = sdk(build_app())
    async with client, client.responses.stream(model="echo/echo", input="one two three") as stream:
        events = [event async for event in stream]
        final = await stream.get_final_response()
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert deltas == ["one ", "two ", "three"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[0].type == "response.created"
    assert events[1].type == "response.in_progress"
    assert events[-1].type == "response.completed"
    assert final.output_text == "one two three"
    assert final.usage is not None
    assert final.usage.output_tokens == 3


async def test_the_demo_streams_reasoning_text_and_a_tool_call_the_sdk_reassembles() -> None:
    async with (
        sdk(build_app()) as client,
        client.responses.stream(model="echo/echo", input="/demo Zürich", tools=[WEATHER]) as stream,
    ):
        events = [event async for event in stream]
        final = await stream.get_final_response()
    reasoning, message, call_item = final.output
    assert reasoning.type == "reasoning"
    assert reasoning.summary[0].text.startswith("The user wrote 1 words")
    assert reasoning.encrypted_content == SIGNATURE
    assert message.type == "message"
    assert message.content[0].type == "output_text"
    assert message.content[0].text == "Zürich"
    assert call_item.type == "function_call"
    assert call_item.name == "weather"
    assert json.loads(call_item.arguments) == {"text": "Zürich"}
    summary = "".join(e.delta for e in events if e.type == "response.reasoning_summary_text.delta")
    assert summary == reasoning.summary[0].text
    arguments = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    assert "".join(arguments) == call_item.arguments
    assert len(arguments) == 2


async def test_the_output_given_back_brings_the_signature_and_the_call_to_the_provider() -> None:
    seen: list[ChatRequest] = []
    app = recording_app(seen)
    async with sdk(app) as client:
        first = await client.responses.create(
            model="echo/echo", input="/demo Zürich", tools=[WEATHER]
        )
        call_item = first.output[-1]
        assert call_item.type == "function_call"
        result = {"type": "function_call_output", "call_id": call_item.call_id, "output": "sunny"}
        again: Any = [{"role": "user", "content": "/demo Zürich"}, *first.output, result]
        second = await client.responses.create(
            model="echo/echo",
            input=again,
            tools=[WEATHER],
        )
    assert second.output_text == "Tool weather answered: sunny"
    _, assistant, tool = seen[-1].messages
    reasoning, _, tool_call = assistant.parts
    assert isinstance(reasoning, ReasoningPart)
    assert reasoning.signature == SIGNATURE
    assert reasoning.text.startswith("The user wrote 1 words")
    assert isinstance(tool_call, ToolCallPart)
    assert (tool_call.id, tool_call.name) == (call_item.call_id, "weather")
    assert tool_call.arguments == call_item.arguments
    assert (tool.role, tool.tool_call_id, tool.text) == ("tool", call_item.call_id, "sunny")


async def test_a_length_stop_is_an_incomplete_response() -> None:
    async with sdk(build_app()) as client:
        response = await client.responses.create(
            model="echo/echo", input="one two three four", max_output_tokens=2
        )
        async with client.responses.stream(
            model="echo/echo", input="one two three four", max_output_tokens=2
        ) as stream:
            events = [event async for event in stream]
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.output_text == "one two "
    assert response.model_dump()["output"][-1]["status"] == "incomplete"  # the message it cut
    assert events[-1].type == "response.incomplete"
    assert events[-1].response.incomplete_details is not None
    assert events[-1].response.model_dump()["output"][-1]["status"] == "incomplete"
    done = [e.model_dump() for e in events if e.type == "response.output_item.done"]
    assert [event["item"]["status"] for event in done] == ["incomplete"]


async def test_the_stream_is_sse_with_named_events_and_no_done_marker() -> None:
    body = {"model": "echo/echo", "input": "hi", "stream": True}
    response, raw = await call(build_app(), "POST", PATH, body)
    assert response.status == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    events = read_sse(raw)
    assert [e.event for e in events] == [json.loads(e.data)["type"] for e in events]
    assert b"[DONE]" not in raw


async def test_a_failure_after_text_is_response_failed_with_the_code() -> None:
    app, script = scripted_app(TextDelta("Hel"), Failure(UpstreamUnavailable("went away")))
    async with sdk(app) as client:
        stream = await client.responses.create(model="echo/echo", input="hi", stream=True)
        events = [event async for event in stream]
    assert [e.type for e in events][-3:] == [
        "response.content_part.done",
        "response.output_item.done",
        "response.failed",
    ]
    failed = events[-1]
    assert failed.type == "response.failed"
    assert failed.response.status == "failed"
    assert failed.response.error is not None
    # llmrelay's stable code, not one of the SDK's literal values
    assert failed.response.error.to_dict() == {
        "code": "upstream_unavailable",
        "message": "went away",
        "param": None,
    }
    assert failed.response.output[0].type == "message"
    assert failed.response.output[0].status == "incomplete"
    assert script.closed


async def test_a_failure_before_any_text_keeps_its_status_and_retry_after() -> None:
    app, script = scripted_app(Failure(RateLimited("slow down", retry_after=2.5)))
    async with sdk(app) as client:
        with pytest.raises(openai.RateLimitError) as caught:
            await client.responses.create(model="echo/echo", input="hi", stream=True)
    assert caught.value.response.headers["retry-after"] == "3"
    assert caught.value.code == "rate_limited"
    assert script.closed


async def test_a_non_streamed_answer_that_fails_late_gets_an_http_error() -> None:
    app, _ = scripted_app(TextDelta("Hel"), Failure(UpstreamUnavailable("went away")))
    async with sdk(app) as client:
        with pytest.raises(openai.InternalServerError) as caught:
            await client.responses.create(model="echo/echo", input="hi")
    assert caught.value.status_code == 502


async def test_a_quiet_upstream_gets_pings_that_the_sdk_skips() -> None:
    app, _ = scripted_app(Pause(0.05), TextDelta("a"), Pause(0.05), Finish(), ping_interval_ms=20)
    _, raw = await call(app, "POST", PATH, {"input": "hi", "stream": True})
    assert raw.count(PING) >= 2
    client = sdk(app)
    async with client, client.responses.stream(model="echo/echo", input="hi") as stream:
        final = await stream.get_final_response()
    assert final.output_text == "a"


async def test_the_deadline_ends_a_stream_with_response_failed() -> None:
    app, script = scripted_app(TextDelta("a"), Pause(5), Finish(), deadline_margin_ms=0)
    _, raw = await call(
        app, "POST", PATH, {"input": "hi", "stream": True}, context=Context(remaining_ms=150)
    )
    last = json.loads(read_sse(raw)[-1].data)
    assert last["type"] == "response.failed"
    assert last["response"]["error"]["code"] == "deadline_exceeded"
    assert script.closed


async def test_usage_details_come_out_in_the_responses_names() -> None:
    usage = Usage(120, 40, cache_read_tokens=100, cache_write_tokens=5, reasoning_tokens=30)
    app, _ = scripted_app(TextDelta("ok"), Finish("stop", usage))
    async with sdk(app) as client:
        response = await client.responses.create(model="echo/echo", input="hi")
    assert response.output_text == "ok"  # bare text deltas, which name no block
    assert response.usage is not None
    assert response.usage.input_tokens == 120
    assert response.usage.input_tokens_details.cached_tokens == 100
    assert response.usage.input_tokens_details.cache_write_tokens == 5
    assert response.usage.output_tokens_details.reasoning_tokens == 30
    assert response.usage.total_tokens == 160


REFUSED = [
    pytest.param({"previous_response_id": "resp_1"}, "previous_response_id", id="previous"),
    pytest.param({"store": True}, "store", id="store"),
    pytest.param({"background": True}, "background", id="background"),
    pytest.param({"tools": [{"type": "web_search"}]}, "tools.0.type", id="built-in-tool"),
    pytest.param({"include": ["file_search_call.results"]}, "include", id="include"),
    pytest.param({"truncation": "auto"}, "truncation", id="truncation"),
    pytest.param({"max_output_tokens": 0}, "max_output_tokens", id="max-output-tokens"),
    pytest.param({"reasoning": {"effort": "huge"}}, "reasoning.effort", id="effort"),
    pytest.param({"text": {"format": {"type": "json_schema"}}}, "text.format", id="format"),
    pytest.param({"seed": 3}, "seed", id="unknown-argument"),
    pytest.param({"input": [{"type": "item_reference", "id": "x"}]}, "input.0.type", id="ref"),
    pytest.param(
        {"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "f"}]}]},
        "input.0.content.0.file_id",
        id="file-id",
    ),
    pytest.param(
        {"input": [{"role": "system", "content": "x"}, {"role": "user", "content": ""}]},
        "input.1.content",
        id="empty-content",
    ),
    pytest.param(
        {
            "input": [
                {"role": "user", "content": "hi"},
                {"type": "function_call_output", "call_id": "nope", "output": "x"},
            ]
        },
        "input.1.call_id",
        id="unanswered-call",
    ),
]


@pytest.mark.parametrize(("fields", "param"), REFUSED)
async def test_what_llmrelay_cannot_honour_is_a_400_naming_the_field(
    fields: dict[str, Any], param: str
) -> None:
    body = {"model": "echo/echo", "input": "hi", **fields}
    response, raw = await call(build_app(), "POST", PATH, body)
    error = json.loads(raw)["error"]
    assert response.status == 400, error
    assert set(error) == {"message", "type", "code", "param"}
    assert error["param"] == param, error
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith(param), error


async def test_the_sdk_raises_bad_request_for_an_unknown_model_naming_model() -> None:
    async with sdk(build_app()) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.responses.create(model="nope/model", input="hi")
    assert caught.value.code == "unknown_model"
    assert caught.value.param == "model"


async def test_a_provider_refusal_names_the_field_in_the_responses_terms() -> None:
    pdf = {
        "type": "input_file",
        "file_data": "data:application/pdf;base64,JVBERi0=",
        "filename": "a.pdf",
    }
    message: Any = {"role": "user", "content": [{"type": "input_text", "text": "Read"}, pdf]}
    async with sdk(build_app()) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.responses.create(model="huggingface/some/model", input=[message])
    assert caught.value.code == "unsupported_parameter"
    assert caught.value.param == "input"  # the neutral request's "messages"
    assert "huggingface" in caught.value.message
