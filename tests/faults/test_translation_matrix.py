"""The translation matrix: every provider (its loopback fake, speaking the real wire format)
by every client dialect, streamed and not, read by the real client where there is one.

One answer is scripted upstream: reasoning (with a signature where the provider signs it),
text cut inside multi-byte characters, two parallel tool calls whose argument fragments
split a multi-byte character, usage with cache and reasoning tokens, ``tool_calls`` as the
finish. Each dialect's reader turns what its client parsed into one :class:`Seen`, and the
test asserts it equals what the upstream sent, as far as the provider can say it
(:class:`Provider`) and the dialect can carry it (:class:`Reader`). A new provider or
dialect is one row of :data:`PROVIDERS` or :data:`READERS`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import anthropic
import httpx2
import openai
import pytest
from tests.gateway.app_client import call, sdk_transport
from tests.leakscan import CANARY_CLIENT_KEY
from tests.protocols.sse_reader import read_sse

from llmrelay.http import App
from llmrelay.testing import FakeToolCall, Fault, Reply

from .conftest import CLIENT_HEADERS, Upstreams, fault_app, settings_for
from .dialects import DIALECTS, Dialect

pytestmark = pytest.mark.asyncio(loop_scope="module")

SIGNATURE = "EqQBCkgIARABGAIiQL2x/sig+nature=="
CALLS = (
    FakeToolCall("call_wx1", "weather", ('{"city": "Zü', 'rich", "unit": "c"}')),
    FakeToolCall("call_tm2", "time", ('{"zone": "日本', '"}')),
)
REPLY = Reply(
    pieces=("Let me ", "look: ", "naïve ", "café ", "☕"),
    reasoning=("The user ", "wants two ", "things."),
    signature=SIGNATURE,
    tool_calls=CALLS,
    finish_reason="tool_calls",
    input_tokens=20,
    output_tokens=9,
    cached_tokens=5,
    cache_write_tokens=3,
    reasoning_tokens=4,
    split_writes=True,
)
# Nothing here is about timeouts: a loaded machine must not turn a case into a timeout.
RELAXED = {"LLMRELAY_FIRST_TOKEN_TIMEOUT_MS": "20000", "LLMRELAY_IDLE_TIMEOUT_MS": "20000"}
USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_read", "cache_write", "reasoning_tokens")


@dataclass(frozen=True)
class Seen:
    """One answer as a client read it (``None``: the dialect or provider cannot say)."""

    text: str
    reasoning: str | None
    signature: str | None
    tools: tuple[tuple[str, str, object], ...]
    usage: Mapping[str, int]
    finish: str | None


@dataclass(frozen=True)
class Provider:
    """A row: the provider's name in the fakes, and what its wire format can say."""

    name: str
    signs_reasoning: bool  # Anthropic's thinking signature
    usage: tuple[str, ...]  # the usage details its API reports
    reply_of: Callable[[Reply], Reply] = lambda reply: reply


PROVIDERS = (
    Provider("openai", False, ("input_tokens", "output_tokens", "cache_read", "reasoning_tokens")),
    Provider(
        "anthropic",
        True,
        ("input_tokens", "output_tokens", "cache_read", "cache_write", "reasoning_tokens"),
    ),
    Provider(
        "huggingface", False, ("input_tokens", "output_tokens", "cache_read", "reasoning_tokens")
    ),
    Provider("gemini", False, ("input_tokens", "output_tokens", "cache_read", "reasoning_tokens")),
    # Bedrock's Converse reports no reasoning-token count.
    Provider("bedrock", True, ("input_tokens", "output_tokens", "cache_read", "cache_write")),
)


def expected(provider: Provider, carries: Carries) -> Seen:
    """What the upstream sent, as far as ``provider`` and the dialect can say it."""
    totals = {
        "input_tokens": REPLY.input_tokens,  # OpenAI's meaning: cache reads and writes included
        "output_tokens": REPLY.completion_tokens,
        "cache_read": REPLY.cached_tokens,
        "cache_write": REPLY.cache_write_tokens,
        "reasoning_tokens": REPLY.reasoning_tokens,
    }
    usage = {
        name: totals[name]
        for name in USAGE_FIELDS
        if name in provider.usage and name in carries.usage
    }
    signed = provider.signs_reasoning and carries.signature
    return Seen(
        text=REPLY.text,
        reasoning="".join(REPLY.reasoning),
        signature=SIGNATURE if signed else None,
        tools=tuple((c.id, c.name, json.loads(c.arguments)) for c in CALLS),
        usage=usage,
        finish="tool_calls" if carries.finish else None,
    )


@dataclass(frozen=True)
class Carries:
    """What a dialect can carry of an answer."""

    usage: tuple[str, ...] = USAGE_FIELDS
    signature: bool = True
    finish: bool = True


Read = Callable[[App, str], Awaitable[Seen]]


@dataclass(frozen=True)
class Reader:
    """A column: a dialect, streamed or not, read by its client."""

    name: str
    read: Read
    carries: Carries = field(default_factory=Carries)


def _only(usage: Mapping[str, int], carries: tuple[str, ...]) -> dict[str, int]:
    return {name: value for name, value in usage.items() if name in carries and value}


ASK: Any = [{"role": "user", "content": "weather in Zürich, and the time in Tokyo?"}]


# -- native /chat -------------------------------------------------------------------------


def _native_usage(usage: Mapping[str, int]) -> dict[str, int]:
    names = {"cache_read_tokens": "cache_read", "cache_write_tokens": "cache_write"}
    return {names.get(name, name): value for name, value in usage.items()}


def _from_blocks(
    text: str, blocks: list[dict[str, Any]], usage: dict[str, int], finish: str
) -> Seen:
    reasoning = [b for b in blocks if b["type"] == "reasoning"]
    return Seen(
        text=text,
        reasoning="".join(b["text"] for b in reasoning),
        signature=next((b.get("signature") for b in reasoning), None),
        tools=tuple(
            (b["id"], b["name"], json.loads(b["arguments"]))
            for b in blocks
            if b["type"] == "tool_call"
        ),
        usage=usage,
        finish=finish,
    )


async def read_native_stream(app: App, model: str) -> Seen:
    body = {"model": model, "messages": ASK}
    response, raw = await call(app, "POST", "/chat", body, CLIENT_HEADERS)
    assert response.status == 200, raw
    events = [(event.event, json.loads(event.data)) for event in read_sse(raw)]
    assert events[-1][0] == "done", events[-3:]
    done = events[-1][1]
    text = "".join(data["text"] for name, data in events if name == "delta")
    ends = [data["block"] for name, data in events if name == "block_end"]
    # The pieces agree with the whole blocks they end with.
    pieces = "".join(data.get("text", "") for name, data in events if name == "reasoning")
    assert pieces == "".join(b["text"] for b in ends if b["type"] == "reasoning")
    usage = _native_usage(done["usage"])
    return _from_blocks(text, ends, usage, done["finish_reason"])


async def read_native_batch(app: App, model: str) -> Seen:
    body = {"model": model, "messages": ASK, "stream": False}
    response, raw = await call(app, "POST", "/chat", body, CLIENT_HEADERS)
    assert response.status == 200, raw
    answer = json.loads(raw)
    usage = _native_usage(answer["usage"])
    return _from_blocks(answer["text"], answer["blocks"], usage, answer["finish_reason"])


# -- OpenAI: Chat Completions and Responses, through the official SDK -----------------


def _sdk(app: App) -> openai.AsyncOpenAI:
    http_client = httpx2.AsyncClient(transport=sdk_transport(app))
    return openai.AsyncOpenAI(
        base_url="http://gateway.test/v1",
        api_key=CANARY_CLIENT_KEY,
        http_client=http_client,
        max_retries=0,
    )


def _openai_usage(usage: Any) -> dict[str, int]:
    found = {"input_tokens": usage.prompt_tokens, "output_tokens": usage.completion_tokens}
    if usage.prompt_tokens_details is not None:
        found["cache_read"] = usage.prompt_tokens_details.cached_tokens or 0
    if usage.completion_tokens_details is not None:
        found["reasoning_tokens"] = usage.completion_tokens_details.reasoning_tokens or 0
    return found


CHAT_CARRIES = Carries(
    usage=("input_tokens", "output_tokens", "cache_read", "reasoning_tokens"), signature=False
)


async def read_chat_stream(app: App, model: str) -> Seen:
    async with _sdk(app) as client:
        stream = await client.chat.completions.create(
            model=model, messages=ASK, stream=True, stream_options={"include_usage": True}
        )
        chunks = [chunk async for chunk in stream]
    text, reasoning, finish = "", "", None
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            delta = choice.delta
            text += delta.content or ""
            reasoning += getattr(delta, "reasoning_content", None) or ""
            for tool in delta.tool_calls or []:
                slot = calls.setdefault(tool.index, {"id": "", "name": "", "arguments": ""})
                if tool.id:
                    assert not slot["id"], "a call's id came twice"
                    slot["id"] = tool.id
                if tool.function is not None:
                    slot["name"] += tool.function.name or ""
                    slot["arguments"] += tool.function.arguments or ""
            finish = choice.finish_reason or finish
    assert chunks[-1].usage is not None
    tools = tuple(
        (slot["id"], slot["name"], json.loads(slot["arguments"]))
        for _, slot in sorted(calls.items())
    )
    usage = _only(_openai_usage(chunks[-1].usage), CHAT_CARRIES.usage)
    return Seen(text, reasoning, None, tools, usage, finish)


async def read_chat_batch(app: App, model: str) -> Seen:
    async with _sdk(app) as client:
        completion = await client.chat.completions.create(model=model, messages=ASK)
    choice = completion.choices[0]
    message = choice.message
    tools = tuple(
        (call.id, call.function.name, json.loads(call.function.arguments))
        for call in message.tool_calls or []
        if call.type == "function"
    )
    reasoning = getattr(message, "reasoning_content", None)
    assert completion.usage is not None
    usage = _only(_openai_usage(completion.usage), CHAT_CARRIES.usage)
    return Seen(message.content or "", reasoning, None, tools, usage, choice.finish_reason)


RESPONSES_CARRIES = Carries(
    usage=("input_tokens", "output_tokens", "cache_read", "reasoning_tokens"), finish=False
)


def _from_response(response: Any) -> Seen:
    text, reasoning, signature = "", "", None
    tools = []
    for item in response.output:
        if item.type == "message":
            text += "".join(part.text for part in item.content if part.type == "output_text")
        elif item.type == "reasoning":
            reasoning += "".join(part.text for part in item.summary)
            signature = item.encrypted_content
        elif item.type == "function_call":
            tools.append((item.call_id, item.name, json.loads(item.arguments)))
    usage = response.usage
    found = {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read": usage.input_tokens_details.cached_tokens,
        "reasoning_tokens": usage.output_tokens_details.reasoning_tokens,
    }
    assert response.status == "completed", response.status
    return Seen(
        text, reasoning, signature, tuple(tools), _only(found, RESPONSES_CARRIES.usage), None
    )


async def read_responses_stream(app: App, model: str) -> Seen:
    async with _sdk(app) as client:
        stream = await client.responses.create(model=model, input=ASK, stream=True)
        events = [event async for event in stream]
    numbers = [event.sequence_number for event in events]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == len(numbers)
    assert events[-1].type == "response.completed", events[-1].type
    seen = _from_response(events[-1].response)
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == seen.text  # the deltas and the whole answer agree
    return seen


async def read_responses_batch(app: App, model: str) -> Seen:
    async with _sdk(app) as client:
        response = await client.responses.create(model=model, input=ASK)
    return _from_response(response)


# -- Vercel UI message stream ---------------------------------------------------------


async def read_ui_stream(app: App, model: str) -> Seen:
    body = {
        "id": "chat-matrix",
        "messages": [{"id": "m1", "role": "user", "parts": [{"type": "text", "text": "hi"}]}],
        "model": model,
    }
    response, raw = await call(app, "POST", "/api/chat", body, CLIENT_HEADERS)
    assert response.status == 200, raw
    datas = [event.data for event in read_sse(raw)]
    assert datas[-1] == "[DONE]"
    parts = [json.loads(data) for data in datas[:-1]]
    text = "".join(p["delta"] for p in parts if p["type"] == "text-delta")
    reasoning = "".join(p["delta"] for p in parts if p["type"] == "reasoning-delta")
    ends = [p for p in parts if p["type"] == "reasoning-end"]
    signature = next(
        (p.get("providerMetadata", {}).get("llmrelay", {}).get("signature") for p in ends), None
    )
    fragments: dict[str, str] = {}
    for part in parts:
        if part["type"] == "tool-input-delta":
            fragments[part["toolCallId"]] = (
                fragments.get(part["toolCallId"], "") + part["inputTextDelta"]
            )
    tools = []
    for part in parts:
        if part["type"] == "tool-input-available":
            assert json.loads(fragments[part["toolCallId"]]) == part["input"]
            tools.append((part["toolCallId"], part["toolName"], part["input"]))
    finish = parts[-1]
    usage = finish["messageMetadata"]["usage"]
    found = {
        "input_tokens": usage["inputTokens"],
        "output_tokens": usage["outputTokens"],
        "cache_read": usage.get("inputTokenDetails", {}).get("cacheReadTokens", 0),
        "cache_write": usage.get("inputTokenDetails", {}).get("cacheWriteTokens", 0),
        "reasoning_tokens": usage.get("outputTokenDetails", {}).get("reasoningTokens", 0),
    }
    reason = {"tool-calls": "tool_calls"}.get(finish["finishReason"], finish["finishReason"])
    return Seen(text, reasoning, signature, tuple(tools), _only(found, USAGE_FIELDS), reason)


# -- Anthropic Messages, through the official SDK --------------------------------------


def _anthropic_sdk(app: App) -> anthropic.AsyncAnthropic:
    http_client = httpx2.AsyncClient(transport=sdk_transport(app))
    return anthropic.AsyncAnthropic(
        base_url="http://gateway.test",
        api_key=CANARY_CLIENT_KEY,
        http_client=http_client,
        max_retries=0,
    )


def _from_message(message: Any) -> Seen:
    text, reasoning, signature = "", "", None
    tools = []
    for block in message.content:
        if block.type == "text":
            text += block.text
        elif block.type == "thinking":
            reasoning += block.thinking
            signature = block.signature or None
        elif block.type == "tool_use":
            tools.append((block.id, block.name, block.input))
    usage = message.usage
    read, write = usage.cache_read_input_tokens or 0, usage.cache_creation_input_tokens or 0
    details = getattr(usage, "output_tokens_details", None)
    thinking = (getattr(details, "thinking_tokens", 0) or 0) if details is not None else 0
    found = {
        "input_tokens": usage.input_tokens + read + write,  # Anthropic's input leaves them out
        "output_tokens": usage.output_tokens,
        "cache_read": read,
        "cache_write": write,
        "reasoning_tokens": thinking,
    }
    finish = {"tool_use": "tool_calls", "end_turn": "stop"}.get(message.stop_reason)
    return Seen(text, reasoning, signature, tuple(tools), _only(found, USAGE_FIELDS), finish)


async def read_messages_stream(app: App, model: str) -> Seen:
    client = _anthropic_sdk(app)
    ask = client.messages.stream(model=model, max_tokens=512, messages=ASK)
    async with client, ask as stream:
        events = [event async for event in stream]
        message = await stream.get_final_message()
    seen = _from_message(message)
    deltas = [event.text for event in events if event.type == "text"]
    assert "".join(deltas) == seen.text  # the text events and the final message agree
    return seen


async def read_messages_batch(app: App, model: str) -> Seen:
    async with _anthropic_sdk(app) as client:
        message = await client.messages.create(model=model, max_tokens=512, messages=ASK)
    return _from_message(message)


READERS = (
    Reader("native-stream", read_native_stream),
    Reader("native-batch", read_native_batch),
    Reader("chat-stream", read_chat_stream, CHAT_CARRIES),
    Reader("chat-batch", read_chat_batch, CHAT_CARRIES),
    Reader("responses-stream", read_responses_stream, RESPONSES_CARRIES),
    Reader("responses-batch", read_responses_batch, RESPONSES_CARRIES),
    Reader("messages-stream", read_messages_stream),
    Reader("messages-batch", read_messages_batch),
    Reader("ui-stream", read_ui_stream),
)


@pytest.mark.parametrize("reader", READERS, ids=[reader.name for reader in READERS])
@pytest.mark.parametrize("provider", PROVIDERS, ids=[provider.name for provider in PROVIDERS])
async def test_what_the_upstream_sent_is_what_the_client_reads(
    upstreams: Upstreams, provider: Provider, reader: Reader
) -> None:
    upstream = upstreams[provider.name]
    upstream.fake.queue(provider.reply_of(REPLY))
    app = fault_app(settings_for(upstreams, RELAXED))
    seen = await reader.read(app, upstream.model)
    want = expected(provider, reader.carries)
    # Usage the client reads as zero is the same as usage it does not get.
    seen = replace(seen, usage={k: v for k, v in seen.usage.items() if v})
    want = replace(want, usage={k: v for k, v in want.usage.items() if v})
    assert seen == want
    assert len(upstream.fake.requests) == 1  # one upstream call: nothing retried or repeated


# -- the second turn: what a client sends back reaches the upstream unchanged ---------


def _native_turn(seen: Seen, model: str) -> tuple[str, object]:
    content: list[object] = [
        {"type": "reasoning", "text": seen.reasoning, "signature": seen.signature},
        {"type": "text", "text": seen.text},
    ]
    content += [
        {"type": "tool_call", "id": ident, "name": name, "arguments": json.dumps(args)}
        for ident, name, args in seen.tools
    ]
    results = [
        {"role": "tool", "tool_call_id": ident, "content": "ok"} for ident, _, _ in seen.tools
    ]
    messages = [*ASK, {"role": "assistant", "content": content}, *results]
    return "/chat", {"model": model, "messages": messages, "stream": False}


def _responses_turn(seen: Seen, model: str) -> tuple[str, object]:
    summary = [{"type": "summary_text", "text": seen.reasoning}]
    items: list[object] = [
        *ASK,
        {
            "type": "reasoning",
            "id": "rs_1",
            "summary": summary,
            "encrypted_content": seen.signature,
        },
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": seen.text, "annotations": []}],
        },
    ]
    for ident, name, args in seen.tools:
        items.append(
            {"type": "function_call", "call_id": ident, "name": name, "arguments": json.dumps(args)}
        )
    items += [
        {"type": "function_call_output", "call_id": ident, "output": "ok"}
        for ident, _, _ in seen.tools
    ]
    return "/v1/responses", {"model": model, "input": items}


def _messages_turn(seen: Seen, model: str) -> tuple[str, object]:
    content: list[object] = [
        {"type": "thinking", "thinking": seen.reasoning, "signature": seen.signature},
        {"type": "text", "text": seen.text},
    ]
    content += [
        {"type": "tool_use", "id": ident, "name": name, "input": args}
        for ident, name, args in seen.tools
    ]
    results = [
        {"type": "tool_result", "tool_use_id": ident, "content": "ok"} for ident, _, _ in seen.tools
    ]
    messages = [
        *ASK,
        {"role": "assistant", "content": content},
        {"role": "user", "content": results},
    ]
    return "/v1/messages", {"model": model, "max_tokens": 512, "messages": messages}


def _ui_turn(seen: Seen, model: str) -> tuple[str, object]:
    metadata = {"llmrelay": {"signature": seen.signature}}
    parts: list[object] = [
        {"type": "step-start"},
        {
            "type": "reasoning",
            "text": seen.reasoning,
            "state": "done",
            "providerMetadata": metadata,
        },
        {"type": "text", "text": seen.text, "state": "done"},
    ]
    parts += [
        {
            "type": f"tool-{name}",
            "toolCallId": ident,
            "state": "output-available",
            "input": args,
            "output": "ok",
        }
        for ident, name, args in seen.tools
    ]
    user = {"id": "m1", "role": "user", "parts": [{"type": "text", "text": ASK[0]["content"]}]}
    assistant = {"id": "m2", "role": "assistant", "parts": parts}
    return "/api/chat", {"id": "chat-matrix", "model": model, "messages": [user, assistant]}


TURNS: Mapping[str, Callable[[Seen, str], tuple[str, object]]] = {
    "native-batch": _native_turn,
    "responses-batch": _responses_turn,
    "messages-batch": _messages_turn,
    "ui-stream": _ui_turn,
}


def _anthropic_turn_sent(sent: list[Any]) -> tuple[list[Any], list[Any], list[Any]]:
    """The thinking blocks, tool uses and tool results of an Anthropic request's turns."""
    assistant = next(m for m in sent if m["role"] == "assistant")
    thinking = [
        {"text": b["thinking"], "signature": b["signature"]}
        for b in assistant["content"]
        if b["type"] == "thinking"
    ]
    uses = [
        (b["id"], b["name"], b["input"]) for b in assistant["content"] if b["type"] == "tool_use"
    ]
    results = [
        block["tool_use_id"]
        for message in sent
        if message["role"] == "user" and isinstance(message["content"], list)
        for block in message["content"]
        if block["type"] == "tool_result"
    ]
    return thinking, uses, results


def _bedrock_turn_sent(sent: list[Any]) -> tuple[list[Any], list[Any], list[Any]]:
    """The same of a Bedrock Converse request (``reasoningContent``, ``toolUse``,
    ``toolResult`` blocks)."""
    assistant = next(m for m in sent if m["role"] == "assistant")
    blocks = assistant["content"]
    thinking = [b["reasoningContent"]["reasoningText"] for b in blocks if "reasoningContent" in b]
    uses = [
        (b["toolUse"]["toolUseId"], b["toolUse"]["name"], b["toolUse"]["input"])
        for b in blocks
        if "toolUse" in b
    ]
    results = [
        block["toolResult"]["toolUseId"]
        for message in sent
        if message["role"] == "user"
        for block in message["content"]
        if "toolResult" in block
    ]
    return thinking, uses, results


SIGNING = {"anthropic": _anthropic_turn_sent, "bedrock": _bedrock_turn_sent}


@pytest.mark.parametrize("provider", SIGNING)
@pytest.mark.parametrize("name", TURNS)
async def test_a_signed_reasoning_block_and_tool_calls_go_back_byte_exact(
    upstreams: Upstreams, name: str, provider: str
) -> None:
    """Anthropic, and Bedrock for Claude, refuse a reasoning signature they did not issue (so
    do their fakes): the second turn only passes when every dialect hands the signature back
    unchanged."""
    upstream = upstreams[provider]
    [reader] = [reader for reader in READERS if reader.name == name]
    app = fault_app(settings_for(upstreams, RELAXED))
    upstream.fake.queue(REPLY, Reply(pieces=("Done.",)))
    seen = await reader.read(app, upstream.model)
    assert seen.signature == SIGNATURE
    path, body = TURNS[name](seen, upstream.model)
    response, raw = await call(app, "POST", path, body, CLIENT_HEADERS)
    assert response.status == 200, raw
    assert b"Done." in raw
    thinking, uses, results = SIGNING[provider](upstream.fake.requests[-1].body["messages"])
    assert thinking == [{"text": "".join(REPLY.reasoning), "signature": SIGNATURE}]
    assert uses == [(c.id, c.name, json.loads(c.arguments)) for c in CALLS]
    assert results == [c.id for c in CALLS]


# -- broken tool calls from the upstream: one terminal event, never a traceback ---------

BROKEN = FakeToolCall("call_bad", "weather", ('{"city": "Zü', "rich"))  # never closed
BROKEN_CASES = [
    pytest.param(
        Reply(pieces=("Hi",), tool_calls=(BROKEN,), finish_reason="tool_calls"),
        None,
        id="arguments-not-json",
    ),
    pytest.param(
        Reply(pieces=("Hi",), tool_calls=CALLS, fault=Fault("cut", after_chunks=1)),
        "upstream_unavailable",
        id="cut-mid-tool-call",
    ),
]


@pytest.mark.parametrize("dialect", DIALECTS, ids=[dialect.name for dialect in DIALECTS])
@pytest.mark.parametrize(("reply", "code"), BROKEN_CASES)
@pytest.mark.parametrize("provider", PROVIDERS, ids=[provider.name for provider in PROVIDERS])
async def test_a_broken_tool_call_from_the_upstream_ends_in_one_terminal_event(
    upstreams: Upstreams, provider: Provider, reply: Reply, code: str | None, dialect: Dialect
) -> None:
    """Arguments that are not JSON are passed on as the upstream sent them (what OpenAI's
    own API does; the UI stream marks them ``tool-input-error``); a stream cut inside a tool
    call ends, after the text, in the dialect's error, once. Each dialect's reader checks
    its shape (one terminal event, nothing after it)."""
    upstream = upstreams[provider.name]
    upstream.fake.queue(reply)
    app = fault_app(settings_for(upstreams, RELAXED))
    response, raw = await call(
        app, "POST", dialect.path, dialect.body(upstream.model), headers=CLIENT_HEADERS
    )
    seen = dialect.observe(response, raw)
    if code is None:
        assert (seen.status, seen.code, seen.text) == (200, None, "Hi"), seen
    elif dialect.streamed:
        assert (seen.status, seen.code, seen.in_band, seen.text) == (200, code, True, "Hi"), seen
    else:
        assert (seen.code, seen.in_band) == (code, False), seen
    assert b"Traceback" not in raw
