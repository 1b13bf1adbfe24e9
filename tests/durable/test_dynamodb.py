"""DynamoDB faults: whatever goes wrong, a call ends promptly in ``StoreUnavailable`` and the
event loop keeps running meanwhile."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from tests.durable.conftest import TABLE
from tests.helpers.silent import silent_endpoint

from llmrelay.durable import DynamoStore, StoreUnavailable, StreamHead

HEAD = StreamHead("s1", "", "native", created_ms=1, deadline_ms=2)


async def test_a_missing_table_is_store_unavailable(dynamodb: Any) -> None:
    store = DynamoStore("no-such-table", client=dynamodb)
    with pytest.raises(StoreUnavailable, match="refused a stream head write"):
        await store.put_head(HEAD)
    assert store.requests == 1


async def test_items_carry_the_ttl_attribute(dynamodb: Any) -> None:
    store = DynamoStore(TABLE, client=dynamodb, retention_s=120)
    await store.put_head(HEAD)
    item = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "stream#s1"}, "sk": {"S": "head"}})
    expires = int(item["Item"]["expires_at"]["N"])
    assert time.time() + 110 < expires <= time.time() + 121
    ttl = dynamodb.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")


async def test_a_silent_endpoint_costs_at_most_the_call_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with silent_endpoint() as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", url)
        store = DynamoStore(TABLE, call_timeout_s=0.3)
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.02)
                ticks += 1

        ticker = asyncio.create_task(tick())
        began = time.monotonic()
        with pytest.raises(StoreUnavailable, match="did not answer"):
            await store.get_head("s1")
        elapsed = time.monotonic() - began
        ticker.cancel()
    assert 0.25 < elapsed < 1.5
    assert ticks >= 5  # the loop ran on while the call waited
