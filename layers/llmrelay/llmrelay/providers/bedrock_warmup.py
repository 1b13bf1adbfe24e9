"""Warm Bedrock before a SnapStart snapshot: one canned answer through the real path.

What a Bedrock request pays the first time, besides importing boto3, is botocore parsing its
service model, endpoint rules and partitions for the first client (about 300 ms), then
building, signing and parsing the first call. :func:`warm_bedrock` pays it ahead: it makes a
client on the shared data loader with placeholder credentials (so the credential chain is
not consulted: the role's credentials must not be in a snapshot), answers its
``converse_stream`` from memory through botocore's own ``before-send`` event with a binary
event stream (:mod:`llmrelay.eventstream`), and streams it through
:class:`~llmrelay.providers.bedrock.BedrockProvider`, worker thread and block mapping
included. Then the client is dropped; the parsed service model stays with the loader, so the
first real client after a restore costs tens of milliseconds.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any, Final

from llmrelay.eventstream import event_message
from llmrelay.models import Message
from llmrelay.providers import bedrock_clients as clients
from llmrelay.providers.base import ProviderCall
from llmrelay.providers.bedrock import THREAD_NAME, BedrockProvider

__all__ = ["warm_bedrock"]

_KEY: Final = "llmrelay-warm-up"
_ENDPOINT: Final = "http://llmrelay-warm-up.invalid"
_MESSAGES: Final = (Message(role="user", content="warm up"),)


def _body() -> bytes:
    delta = {"delta": {"text": "ok"}, "contentBlockIndex": 0}
    usage = {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}
    return b"".join(
        [
            event_message("messageStart", {"role": "assistant"}),
            event_message("contentBlockDelta", delta),
            event_message("contentBlockStop", {"contentBlockIndex": 0}),
            event_message("messageStop", {"stopReason": "end_turn"}),
            event_message("metadata", {"usage": usage, "metrics": {"latencyMs": 1}}),
        ]
    )


class _Canned:
    """The part of urllib3's response that botocore's event stream reads."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, amt: int = 1024, decode_content: bool | None = None) -> Iterator[bytes]:
        yield self._body

    def shutdown(self) -> None:
        return None

    def close(self) -> None:
        return None


def _answer(request: Any, **_: Any) -> Any:
    from botocore.awsrequest import AWSResponse  # type: ignore[import-untyped]

    headers = {"content-type": "application/vnd.amazon.eventstream"}
    return AWSResponse(request.url, 200, headers, _Canned(_body()))


def _canned_client(target: clients.Target) -> Any:
    client = clients.new_session().client(
        "bedrock-runtime",
        region_name=target.region,
        endpoint_url=target.endpoint_url,
        aws_access_key_id=_KEY,
        aws_secret_access_key=_KEY,
        config=clients.client_config(target),
    )
    client.meta.events.register("before-send.bedrock-runtime.ConverseStream", _answer)
    return client


async def warm_bedrock() -> bool:
    """Stream one canned answer through the Bedrock provider (see the module); ``True``
    once it answered."""
    call = ProviderCall("bedrock", "warm-up", _MESSAGES, base_url=_ENDPOINT)
    target = clients.target_for(call)
    provider = BedrockProvider()
    # Made on the loop: before the snapshot nothing else is waiting for it.
    clients.seed_client(target, _canned_client(target))
    try:
        answered = [event async for event in provider.stream(call)]
    finally:
        clients.drop_client(target)
    await _threads_ended()  # nothing of the warm-up runs on into the snapshot
    return bool(answered)


async def _threads_ended(limit_s: float = 1.0) -> None:
    loop = asyncio.get_running_loop()
    until = loop.time() + limit_s
    while any(t.name == THREAD_NAME for t in threading.enumerate()):
        if loop.time() > until:
            return
        await asyncio.sleep(0.005)
