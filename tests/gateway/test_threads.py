"""Threads: the server keeps the conversation, so a request sends only its new message."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.gateway.durable_app import durable_app
from tests.gateway.fakes import Pause, Script
from tests.protocols.sse_reader import read_sse

from llmrelay.durable import MemoryStore
from llmrelay.events import (
    BlockEnd,
    BlockStart,
    Finish,
    ReasoningBlock,
    ReasoningDelta,
    TextDelta,
    Usage,
)
from llmrelay.models import ChatRequest


def say(text: str, **fields: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}], "thread_id": "t-1", **fields}


def roles_and_text(chat: ChatRequest) -> list[tuple[str, str]]:
    return [(message.role, message.text) for message in chat.messages]


async def test_a_thread_carries_the_history_over_three_requests() -> None:
    relay = durable_app()
    for text in ("first words", "second words", "third words"):
        response, _ = await relay.call("POST", "/chat", say(text))
        assert response.status == 200
    assert roles_and_text(relay.seen[2]) == [
        ("user", "first words"),
        ("assistant", "first words"),
        ("user", "second words"),
        ("assistant", "second words"),
        ("user", "third words"),
    ]
    listed, body = await relay.call("GET", "/threads/t-1")
    turns = json.loads(body)["turns"]
    assert listed.status == 200
    assert [turn["finish_reason"] for turn in turns] == ["stop"] * 3
    assert [m["content"] for m in turns[0]["messages"]] == [
        "first words",
        [{"type": "text", "text": "first words"}],
    ]


async def test_a_client_that_resends_the_whole_conversation_is_not_doubled() -> None:
    relay = durable_app()
    await relay.call("POST", "/chat", say("hello there"))
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hello there"},
        {"role": "assistant", "content": "hello there"},
        {"role": "user", "content": "and again"},
    ]
    whole = {"thread_id": "t-1", "messages": messages}
    await relay.call("POST", "/chat", whole, headers={"accept": "application/json"})
    assert roles_and_text(relay.seen[1]) == [(m["role"], m["content"]) for m in messages]
    _, body = await relay.call("GET", "/threads/t-1")
    second = json.loads(body)["turns"][1]["messages"]
    assert [m["role"] for m in second] == ["user", "assistant"]  # no system prompt kept


async def test_reasoning_with_its_signature_goes_back_byte_exact() -> None:
    signature = "c2lnbmF0dXJl+/=\u00e9"
    answer = Script(
        (  # type: ignore[arg-type]  # a script of block events, beyond what Step names
            BlockStart(0, "reasoning"),
            ReasoningDelta("thinking it over", 0),
            ReasoningDelta(index=0, signature=signature),
            BlockEnd(0, ReasoningBlock("thinking it over", signature)),
            TextDelta("done thinking", 1),
            Finish("stop", Usage(1, 2)),
        )
    )
    plain = Script((TextDelta("ok"), Finish()))
    scripts = iter([answer, plain])
    relay = durable_app(lambda chat: next(scripts).stream())
    await relay.call("POST", "/chat", say("think"))
    await relay.call("POST", "/chat", say("go on"))
    assistant = relay.seen[1].messages[1]
    reasoning = assistant.parts[0]
    assert (reasoning.type, reasoning.signature) == ("reasoning", signature)  # type: ignore[union-attr]
    assert assistant.text == "done thinking"


async def test_a_stopped_answer_is_kept_and_marked_and_a_failed_one_is_not() -> None:
    words = tuple(
        x for word in ["a ", "b ", "c ", "d "] * 10 for x in (TextDelta(word), Pause(0.1))
    )
    slow = Script((*words, Finish()))
    relay = durable_app(lambda chat: slow.stream())
    response = await relay.open("POST", "/chat", say("go slowly"))
    stream_id = response.headers["x-llmrelay-stream-id"]
    reading = asyncio.create_task(relay_read(response))
    await asyncio.sleep(0.15)
    await relay.call("POST", f"/chat/{stream_id}/stop")
    body = await reading
    assert json.loads(read_sse(body)[-1].data)["finish_reason"] == "stopped"
    _, listed = await relay.call("GET", "/threads/t-1")
    (turn,) = json.loads(listed)["turns"]
    assert (turn["finish_reason"], turn["stopped"]) == ("stopped", True)
    assert turn["messages"][1]["role"] == "assistant"


async def relay_read(response: Any) -> bytes:
    from tests.gateway.app_client import read_body

    return await read_body(response)


async def test_threads_belong_to_their_caller_and_can_be_deleted() -> None:
    relay = durable_app()
    await relay.call("POST", "/chat", say("mine"), caller="key:alice")
    theirs, _ = await relay.call("GET", "/threads/t-1", caller="key:mallory")
    assert theirs.status == 404
    await relay.call("POST", "/chat", say("other"), caller="key:mallory")
    assert roles_and_text(relay.seen[1]) == [("user", "other")]
    gone, body = await relay.call("DELETE", "/threads/t-1", caller="key:alice")
    assert (gone.status, json.loads(body)) == (200, {"thread_id": "t-1", "deleted_turns": 1})
    again, _ = await relay.call("DELETE", "/threads/t-1", caller="key:alice")
    assert again.status == 404
    missing, _ = await relay.call("GET", "/threads/t-1", caller="key:alice")
    assert missing.status == 404


async def test_a_thread_that_cannot_be_read_is_a_prompt_503() -> None:
    store = MemoryStore()
    relay = durable_app(store=store)
    store.fail = True
    response, body = await relay.call("POST", "/chat", say("hello"))
    assert (response.status, json.loads(body)["error"]["code"]) == (503, "store_unavailable")
    assert relay.seen == []
    plain, _ = await relay.call("POST", "/chat", {"messages": [{"role": "user", "content": "x"}]})
    assert plain.status == 200  # without a thread the store is not needed to answer
