"""The store under test: the in-memory one and DynamoDB (moto, in process) behind one
fixture, so that both meet the same contract."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from llmrelay.durable import DurableStore, DynamoStore, MemoryStore
from llmrelay.durable.table import create_table

TABLE = "llmrelay-test"


@pytest.fixture
def dynamodb(_shared_botocore_loader: None) -> Iterator[Any]:
    """A boto3 DynamoDB client on in-process moto, with the table created."""
    from moto import mock_aws

    with mock_aws():
        import boto3  # type: ignore[import-untyped]

        client = boto3.client("dynamodb")
        create_table(client, TABLE)
        yield client


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> DurableStore:
    if request.param == "memory":
        return MemoryStore()
    return DynamoStore(TABLE, client=request.getfixturevalue("dynamodb"))
