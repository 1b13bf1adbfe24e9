"""``GET /chat/{stream_id}`` (resume) and ``POST /chat/{stream_id}/stop`` (stop); and the
Vercel AI SDK's resume, ``GET /api/chat/{chat_id}/stream``.

A resume replays the stored frames after ``Last-Event-ID`` (the header a browser
``EventSource`` sends when it reconnects, or ``?last_event_id=`` / ``?after=`` in the URL;
none: from the start), then follows the live stream to its terminal event, from any
instance. Once everything was sent (an ended stream resumed after its last event) the
answer is ``204``, which tells an ``EventSource`` to stop reconnecting. Streams belong to
their caller: anyone else gets ``404``, as for an unknown or expired id.

A stop sets the stream's stop flag; the generating instance notices at its next poll,
closes its upstream and ends the stream with ``done``, ``finish_reason: "stopped"``.
``202 {"status": "stopping"}`` while it runs; ``200`` with its final status once ended.

The AI SDK's ``useChat({resume: true})`` asks ``GET /api/chat/{chat_id}/stream`` after a
reload: ``204`` when nothing is streaming for that chat (of this caller), else the chat's
latest UI message stream from its start, then live.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Callable
from typing import Final
from urllib.parse import parse_qs

from llmrelay.durable.reader import replay
from llmrelay.durable.records import StreamHead, ThreadKey
from llmrelay.errors import InvalidRequest, LLMRelayError
from llmrelay.events import Failure
from llmrelay.gateway.dialect_route import STREAM_ID_HEADER
from llmrelay.gateway.durability import Durability, owner_of
from llmrelay.gateway.errors import NotFound
from llmrelay.gateway.guard import deadline_from
from llmrelay.gateway.options import GatewayOptions
from llmrelay.gateway.responses import json_response, sse_response
from llmrelay.http import HttpRequest, HttpResponse, InvocationContext
from llmrelay.protocols.native import error_event
from llmrelay.protocols.vercel import UI_MESSAGE_STREAM_HEADERS, error_ending

__all__ = ["ResumeStream", "StopStream", "VercelResume", "native_error_frame", "resume_after"]

_STREAM_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,128}")
_MAX_SEQ: Final = 10**9


def native_error_frame(error: LLMRelayError) -> bytes:
    return error_event(Failure(error))


def resume_after(request: HttpRequest) -> int:
    """The last seq the client has (``-1``: none), from ``Last-Event-ID`` or the query."""
    raw = request.header("last-event-id").strip()
    name = "last-event-id"
    if not raw:
        query = parse_qs(request.query)
        for field in ("last_event_id", "after"):
            if query.get(field):
                raw, name = query[field][-1].strip(), field
                break
    if not raw:
        return -1
    if not raw.isdigit() or int(raw) > _MAX_SEQ:
        raise InvalidRequest(f"{name}: must be the id of an event of the stream, a whole number")
    return int(raw)


async def find_stream(
    durability: Durability | None, request: HttpRequest, stream_id: str, dialect: str | None
) -> StreamHead:
    """The caller's stream ``stream_id`` (of ``dialect``, unless ``None``); :class:`NotFound`
    otherwise."""
    if durability is None:
        raise NotFound("durable streams are off (set LLMRELAY_DURABLE_TABLE to turn them on)")
    head = None
    if _STREAM_ID.fullmatch(stream_id):
        head = await durability.store.get_head(stream_id)
    if head is None or head.owner != owner_of(request) or dialect not in (None, head.dialect):
        raise NotFound("no such stream (it may have expired)")
    return head


async def _peeked(frames: AsyncGenerator[bytes, None], first: bytes) -> AsyncGenerator[bytes, None]:
    try:
        yield first
        async for frame in frames:
            yield frame
    finally:
        await frames.aclose()


async def replay_response(
    durability: Durability,
    head: StreamHead,
    after: int,
    error_frame: Callable[[LLMRelayError], bytes],
    context: InvocationContext,
    options: GatewayOptions,
    headers: dict[str, str],
) -> HttpResponse:
    """The SSE answer of a resume: 204 when an ended stream has nothing after ``after``."""
    deadline = deadline_from(context, options.deadline_margin_ms)
    policy = durability.replay
    frames = replay(durability.store, head, after, error_frame, policy=policy, deadline=deadline)
    if head.ended:
        first = await anext(frames, None)
        if first is None:
            return HttpResponse(204, {"cache-control": "no-store"}, b"")
        body: AsyncGenerator[bytes, None] = _peeked(frames, first)
    else:
        body = frames
    return sse_response(body, headers={**headers, STREAM_ID_HEADER: head.stream_id})


class ResumeStream:
    def __init__(self, durability: Durability | None, options: GatewayOptions) -> None:
        self._durability = durability
        self._options = options

    async def __call__(self, request: HttpRequest, context: InvocationContext) -> HttpResponse:
        stream_id = request.path_params.get("stream_id", "")
        after = resume_after(request)
        head = await find_stream(self._durability, request, stream_id, "native")
        assert self._durability is not None
        return await replay_response(
            self._durability, head, after, native_error_frame, context, self._options, {}
        )


class StopStream:
    def __init__(self, durability: Durability | None) -> None:
        self._durability = durability

    async def __call__(self, request: HttpRequest, context: InvocationContext) -> HttpResponse:
        stream_id = request.path_params.get("stream_id", "")
        await find_stream(self._durability, request, stream_id, None)  # any dialect's
        assert self._durability is not None
        head = await self._durability.store.request_stop(stream_id, owner_of(request))
        if head is None:
            raise NotFound("no such stream (it may have expired)")
        if head.ended:
            return json_response(200, {"stream_id": stream_id, "status": head.status})
        return json_response(202, {"stream_id": stream_id, "status": "stopping"})


_NOTHING: Final = HttpResponse(204, {"cache-control": "no-store"}, b"")


class VercelResume:
    """``GET /api/chat/{chat_id}/stream`` (see the module's docstring)."""

    def __init__(self, durability: Durability | None, options: GatewayOptions) -> None:
        self._durability = durability
        self._options = options

    async def __call__(self, request: HttpRequest, context: InvocationContext) -> HttpResponse:
        durability = self._durability
        chat_id = request.path_params.get("chat_id", "")
        if durability is None or not 0 < len(chat_id) <= 256:
            return _NOTHING  # no durable streams: never anything to resume
        owner = owner_of(request)
        stream_id = await durability.store.get_active(ThreadKey(owner, chat_id))
        head = None if stream_id is None else await durability.store.get_head(stream_id)
        if head is None or head.owner != owner or head.ended:
            return _NOTHING
        headers = dict(UI_MESSAGE_STREAM_HEADERS)
        return await replay_response(
            durability, head, -1, error_ending, context, self._options, headers
        )
