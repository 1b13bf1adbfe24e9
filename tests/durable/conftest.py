"""The store under test: the in-memory one and DynamoDB (moto, in process, the ``dynamodb``
fixture of ``tests/conftest.py``) behind one fixture, so that both meet the same contract."""

from __future__ import annotations

import pytest
from tests.conftest import DYNAMODB_TABLE

from llmrelay.durable import DurableStore, DynamoStore, MemoryStore

TABLE = DYNAMODB_TABLE


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> DurableStore:
    if request.param == "memory":
        return MemoryStore()
    return DynamoStore(TABLE, client=request.getfixturevalue("dynamodb"))
