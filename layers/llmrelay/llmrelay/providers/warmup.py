"""Warm a provider without network or secrets: one canned answer through its real path.

Importing an SDK is most of a cold start, but not all of it: its first call still builds
pydantic schemas, imports modules lazily and loads the CA bundle, about 70 ms for OpenAI and
150 ms for Anthropic on these machines. :func:`warm_provider` pays all of it ahead of time
(before a SnapStart snapshot): it streams one short canned answer through the provider's own
``stream()``, the SDK's request building, SSE decoding and models included, from an
in-memory transport (``httpx2.MockTransport``) under a dummy key, then drops the client it
used. Nothing leaves the process and no secret is read. Bedrock's is its own
(:mod:`llmrelay.providers.bedrock_warmup`): botocore's ``before-send`` answers from memory.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from llmrelay.models import Message
from llmrelay.providers.base import Provider, ProviderCall
from llmrelay.providers.clients import ClientCache
from llmrelay.providers.registry import ProviderKind, load_provider
from llmrelay.providers.tls import tls_context

if TYPE_CHECKING:
    import httpx2

__all__ = ["WARM_UP_KEY", "warm_provider"]

WARM_UP_KEY = "llmrelay-warm-up"  # a placeholder: the in-memory transport ignores it
_BASE_URL = "http://llmrelay-warm-up.invalid"
_MESSAGES = (Message(role="user", content="warm up"),)


def _sse(events: list[tuple[str | None, object]]) -> bytes:
    frames = []
    for name, data in events:
        text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
        frames.append((f"event: {name}\n" if name else "") + f"data: {text}\n\n")
    return "".join(frames).encode()


def _openai_body() -> bytes:
    chunk: dict[str, Any] = {"id": "warm-up", "object": "chat.completion.chunk", "created": 0}
    chunk["model"] = "warm-up"

    def choice(delta: dict[str, str], finish: str | None) -> dict[str, Any]:
        return {**chunk, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    return _sse(
        [
            (None, choice({"role": "assistant", "content": "ok"}, None)),
            (None, choice({}, "stop")),
            (None, {**chunk, "choices": [], "usage": usage}),
            (None, "[DONE]"),
        ]
    )


def _anthropic_body() -> bytes:
    message: dict[str, object] = {
        "id": "msg_warm_up",
        "type": "message",
        "role": "assistant",
        "model": "warm-up",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    delta = {"type": "text_delta", "text": "ok"}
    stop = {"stop_reason": "end_turn", "stop_sequence": None}
    return _sse(
        [
            ("message_start", {"type": "message_start", "message": message}),
            ("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": {"type": "text", "text": ""}}),
            ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta", "delta": stop,
                               "usage": {"output_tokens": 1}}),
            ("message_stop", {"type": "message_stop"}),
        ]
    )  # fmt: skip


def _transport(body: bytes) -> httpx2.MockTransport:
    import httpx2

    def answer(request: httpx2.Request) -> httpx2.Response:
        headers = {"content-type": "text/event-stream"}
        return httpx2.Response(200, headers=headers, content=body, request=request)

    return httpx2.MockTransport(answer)


def _openai_client(call: ProviderCall) -> object:
    from openai import AsyncOpenAI, DefaultAsyncHttpx2Client

    http = DefaultAsyncHttpx2Client(transport=_transport(_openai_body()))
    return AsyncOpenAI(api_key=WARM_UP_KEY, base_url=call.base_url, http_client=http)


def _anthropic_client(call: ProviderCall) -> object:
    import anthropic
    import httpx2

    http = httpx2.AsyncClient(transport=_transport(_anthropic_body()))
    return anthropic.AsyncAnthropic(api_key=WARM_UP_KEY, base_url=call.base_url, http_client=http)


def _huggingface_pool(call: ProviderCall) -> object:
    import httpx2
    import huggingface_hub  # noqa: F401 - the SDK itself, not only the transport

    return httpx2.AsyncClient(transport=_transport(_openai_body()))


_CLIENTS = {
    "openai": (_openai_client, "/v1"),
    "anthropic": (_anthropic_client, ""),
    "huggingface": (_huggingface_pool, "/v1"),
}


def _cache_of(provider: Provider) -> ClientCache[Any] | None:
    cache = getattr(provider, "clients", None)
    return cache if isinstance(cache, ClientCache) else None


async def warm_provider(kind: ProviderKind) -> bool:
    """Import ``kind``'s provider and SDK and stream one canned answer through them (see
    the module); ``False`` when there is nothing more to warm than the import (echo)."""
    provider = load_provider(kind)
    if kind == "bedrock":  # boto3 clients live in a cache of their own, shared by threads
        from llmrelay.providers.bedrock_warmup import warm_bedrock

        return await warm_bedrock()
    factory = _CLIENTS.get(kind)
    cache = _cache_of(provider)
    if factory is None or cache is None:
        return False
    make, suffix = factory
    call = ProviderCall(
        kind, "warm-up", _MESSAGES, api_key=WARM_UP_KEY, base_url=_BASE_URL + suffix
    )
    key = (call.provider, call.api_key, call.base_url)
    cache.get(key, lambda: make(call))
    try:
        async for _ in provider.stream(call):
            pass
    finally:
        cache.forget(key)
    tls_context()  # what the real clients verify with: the CA bundle, loaded now
    return True
