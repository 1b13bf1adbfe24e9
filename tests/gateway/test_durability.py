"""The durable settings from the environment, and a thread turn that meets a taken number."""

from __future__ import annotations

import pytest

from llmrelay.durable import DynamoStore, MemoryStore, ThreadKey
from llmrelay.durable.threads import decode_turn
from llmrelay.errors import ConfigurationError
from llmrelay.events import TextBlock
from llmrelay.gateway.durability import durability_from_env
from llmrelay.gateway.thread_turns import RequestThread
from llmrelay.models import Message


def test_durability_is_off_without_a_table() -> None:
    assert durability_from_env({}) is None
    assert durability_from_env({"LLMRELAY_DURABLE_TABLE": "  "}) is None


def test_the_table_and_the_tuning_come_from_the_environment() -> None:
    durability = durability_from_env(
        {
            "LLMRELAY_DURABLE_TABLE": "streams",
            "LLMRELAY_DURABLE_RETENTION_S": "120",
            "LLMRELAY_THREAD_RETENTION_S": "600",
            "LLMRELAY_DURABLE_FLUSH_MS": "100",
            "LLMRELAY_DURABLE_STOP_POLL_MS": "300",
            "LLMRELAY_DURABLE_TIMEOUT_MS": "1500",
        }
    )
    assert durability is not None
    store = durability.store
    assert isinstance(store, DynamoStore)
    assert (store.table, store.retention_s, store.thread_retention_s) == ("streams", 120, 600)
    assert (store.call_timeout_s, durability.call_timeout_s) == (1.5, 1.5)
    assert (durability.writer.flush_s, durability.writer.stop_poll_s) == (0.1, 0.3)


def test_a_bad_setting_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="LLMRELAY_DURABLE_FLUSH_MS"):
        durability_from_env({"LLMRELAY_DURABLE_TABLE": "t", "LLMRELAY_DURABLE_FLUSH_MS": "0"})


async def test_a_turn_whose_number_was_taken_takes_the_next_one() -> None:
    store, key = MemoryStore(), ThreadKey("", "t")
    assert await store.add_turn(key, 0, b'{"messages": [], "created": 0}')  # a concurrent request
    thread = RequestThread(key, turns=0, new=(Message(role="user", content="hi"),))
    await thread.save(store, [TextBlock("hello")], "stop")
    turns = [decode_turn(data) for data in await store.get_turns(key)]
    assert [[m.text for m in turn.messages] for turn in turns] == [[], ["hi", "hello"]]


async def test_a_failed_answer_adds_no_turn_and_a_store_failure_is_only_logged(
    capfd: pytest.CaptureFixture[str],
) -> None:
    store, key = MemoryStore(), ThreadKey("", "t")
    thread = RequestThread(key, turns=0, new=(Message(role="user", content="hi"),))
    await thread.save(store, [], None)
    assert await store.get_turns(key) == []
    store.fail = True
    await thread.save(store, [TextBlock("hello")], "stop")
    assert "thread: the turn could not be saved" in capfd.readouterr().err
