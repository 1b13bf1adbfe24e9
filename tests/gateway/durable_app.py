"""An app with durable streams on an in-memory (or any) store, and calls that carry a caller."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.gateway.app_client import read_body
from tests.gateway.fakes import Context

from llmrelay.durable import DurableStore, MemoryStore
from llmrelay.durable.reader import ReplayPolicy
from llmrelay.durable.writer import WriterPolicy
from llmrelay.gateway import Durability, GatewayOptions, build_app
from llmrelay.http import App, HttpRequest, HttpResponse
from llmrelay.models import ChatRequest
from llmrelay.resilience.watch import AnswerStream

FAST_WRITER = WriterPolicy(flush_s=0.02, stop_poll_s=0.05, close_timeout_s=1.0)
FAST_REPLAY = ReplayPolicy(poll_s=0.02, ping_s=5.0, grace_ms=500)

__all__ = ["FAST_REPLAY", "FAST_WRITER", "DurableApp", "durable_app"]


@dataclass
class DurableApp:
    app: App
    store: DurableStore
    seen: list[ChatRequest] = field(default_factory=list)

    async def open(
        self,
        method: str,
        path: str,
        body: object = b"",
        *,
        caller: str = "key:alice",
        headers: Mapping[str, str] | None = None,
        query: str = "",
        context: Context | None = None,
    ) -> HttpResponse:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = HttpRequest(
            method, path, query, headers=dict(headers or {}), body=raw, caller=caller
        )
        return await self.app(request, context or Context())

    async def call(
        self, method: str, path: str, body: object = b"", **options: Any
    ) -> tuple[HttpResponse, bytes]:
        response = await self.open(method, path, body, **options)
        return response, await read_body(response)


def durable_app(
    stream: Any = None,
    store: DurableStore | None = None,
    *,
    writer: WriterPolicy = FAST_WRITER,
    replay: ReplayPolicy = FAST_REPLAY,
    call_timeout_s: float = 1.0,
    **options: Any,
) -> DurableApp:
    """``stream(chat)`` is the provider layer (default: the echo provider); every request
    it sees is kept in ``seen``."""
    store = store if store is not None else MemoryStore()
    durability = Durability(store, writer, replay, call_timeout_s)
    holder = DurableApp(build_app(durability=False), store)  # the real app is set below

    def recorded(chat: ChatRequest) -> AnswerStream:
        holder.seen.append(chat)
        if stream is not None:
            answer: AnswerStream = stream(chat)
            return answer
        from llmrelay.resilience import stream_resilient

        return stream_resilient(chat)

    holder.app = build_app(
        stream=recorded, options=GatewayOptions(**options), durability=durability
    )
    return holder
