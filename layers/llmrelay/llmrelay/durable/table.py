"""The table's shape, once: for ``make dev`` (a moto server), tests and the bench. In AWS
the template creates the same table (on-demand, TTL on ``expires_at``)."""

from __future__ import annotations

from typing import Any

__all__ = ["TTL_ATTRIBUTE", "create_table"]

TTL_ATTRIBUTE = "expires_at"


def create_table(client: Any, name: str) -> None:
    """Create table ``name`` with ``client`` (a boto3 DynamoDB client), as the template does;
    an existing table is left as it is."""
    if name in client.list_tables().get("TableNames", []):
        return
    client.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=name)
    client.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )
