"""Who calls: a client key's digest (``api_key``) or the signed IAM principal (``AWS_IAM``);
durable streams belong to it."""

from __future__ import annotations

import json

import pytest
from tests.gateway.app_client import call
from tests.gateway.durable_app import FAST_REPLAY, FAST_WRITER

from llmrelay.durable import MemoryStore
from llmrelay.gateway import Durability, build_app
from llmrelay.gateway.auth import hash_key
from llmrelay.runtime.event import to_request
from llmrelay.secrets import StaticSecrets

ALICE, BOB = "llmr-alice-key-0123456789abcdef", "llmr-bob-key-0123456789abcdefgh"
HELLO = {"messages": [{"role": "user", "content": "hello"}]}


async def test_a_key_owns_its_streams_and_another_key_gets_404(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LLMRELAY_AUTH", "api_key")
    store = MemoryStore()
    secrets = StaticSecrets({"CLIENT_API_KEY_HASHES": json.dumps([hash_key(ALICE), hash_key(BOB)])})
    app = build_app(secrets=secrets, durability=Durability(store, FAST_WRITER, FAST_REPLAY))
    response, _ = await call(app, "POST", "/chat", HELLO, {"x-api-key": ALICE})
    stream_id = response.headers["x-llmrelay-stream-id"]
    (head,) = store.heads.values()
    assert ALICE not in head.owner
    assert hash_key(ALICE) not in head.owner  # a digest of the caller, not the key's digest
    mine, _ = await call(app, "GET", f"/chat/{stream_id}", headers={"x-api-key": ALICE})
    theirs, _ = await call(app, "GET", f"/chat/{stream_id}", headers={"x-api-key": BOB})
    assert (mine.status, theirs.status) == (200, 404)


def test_the_iam_principal_of_a_signed_request_is_its_caller() -> None:
    iam = {"userArn": "arn:aws:iam::123456789012:user/alice", "callerId": "AIDA123"}
    event = {"requestContext": {"authorizer": {"iam": iam}, "http": {"method": "GET"}}}
    assert to_request(event).caller == "iam:arn:aws:iam::123456789012:user/alice"
    assert to_request({"requestContext": {"http": {"method": "GET"}}}).caller == ""
