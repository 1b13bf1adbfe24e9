"""``GET /threads/{thread_id}`` lists a thread's turns; ``DELETE`` removes them.

Threads belong to their caller: another caller's thread of the same id is another thread,
and one with no turns is ``404``.
"""

from __future__ import annotations

from llmrelay.durable.records import ThreadKey
from llmrelay.durable.threads import decode_turn
from llmrelay.gateway.durability import Durability, owner_of
from llmrelay.gateway.errors import NotFound
from llmrelay.gateway.responses import json_response
from llmrelay.http import HttpRequest, HttpResponse, InvocationContext

__all__ = ["ThreadRoute"]


class ThreadRoute:
    """One handler for both methods (``GET`` lists, ``DELETE`` removes)."""

    def __init__(self, durability: Durability | None) -> None:
        self._durability = durability

    async def __call__(self, request: HttpRequest, context: InvocationContext) -> HttpResponse:
        if self._durability is None:
            raise NotFound("threads are off (set LLMRELAY_DURABLE_TABLE to turn them on)")
        thread_id = request.path_params.get("thread_id", "")
        key = ThreadKey(owner_of(request), thread_id)
        store = self._durability.store
        if request.method.upper() == "DELETE":
            deleted = await store.delete_thread(key)
            if not deleted:
                raise NotFound("no such thread")
            return json_response(200, {"thread_id": thread_id, "deleted_turns": deleted})
        turns = [decode_turn(data).to_dict() for data in await store.get_turns(key)]
        if not turns:
            raise NotFound("no such thread")
        return json_response(200, {"thread_id": thread_id, "turns": turns})
