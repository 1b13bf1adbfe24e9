"""The object a function exports as its Lambda ``handler``.

``handler = streaming_handler(app)`` serves both ways Lambda may call it: the llmrelay
runtime loop awaits :meth:`StreamingHandler.respond` and streams the body as it is produced;
a managed runtime (``sam local invoke``, a function without the exec wrapper) calls it like
any Python handler and gets the buffered API Gateway v2 response dict.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Mapping
from typing import Any

from llmrelay.http import App, Body, HttpResponse, InvocationContext
from llmrelay.runtime.event import to_buffered, to_request

__all__ = ["StreamingHandler", "aclose", "body_iterator", "collect_body", "streaming_handler"]


class StreamingHandler:
    """Adapts an :data:`llmrelay.http.App` to Lambda, streamed or buffered."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._loop: asyncio.AbstractEventLoop | None = None

    async def respond(self, event: Mapping[str, Any], context: InvocationContext) -> HttpResponse:
        """The app's response to a function-URL event, its body not yet consumed."""
        return await self.app(to_request(event), context)

    def __call__(self, event: Mapping[str, Any], context: InvocationContext) -> dict[str, Any]:
        """The buffered way: run the app to completion and return the response dict.

        The app runs on a private event loop, created on first use and reused by every warm
        invocation so that the clients it caches keep their connections.
        """
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(self._buffered(event, context))

    def close(self) -> None:
        """Close the private event loop of the buffered way (a later call makes a new one).

        Async generators still open on it (an SDK's stream decoder, say) are closed first:
        dropping their ``aclose`` would skip their clean-up (Python 3.13 warns about it).
        """
        loop, self._loop = self._loop, None
        if loop is None or loop.is_closed():
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # the usual case: no loop runs in this thread
            loop.run_until_complete(loop.shutdown_asyncgens())
        else:  # a loop runs here, so the private one can only run in another thread
            closer = threading.Thread(
                target=loop.run_until_complete, args=(loop.shutdown_asyncgens(),)
            )
            closer.start()
            closer.join()
        loop.close()

    async def _buffered(
        self, event: Mapping[str, Any], context: InvocationContext
    ) -> dict[str, Any]:
        response = await self.respond(event, context)
        return to_buffered(response, await collect_body(response.body))


def streaming_handler(app: App) -> StreamingHandler:
    """``handler = streaming_handler(build_app())`` in the function's module."""
    return StreamingHandler(app)


def body_iterator(body: Body) -> AsyncIterator[bytes]:
    """Any body as an async iterator of bytes: the app's own iterator, or one for bytes."""
    return _once(bytes(body)) if isinstance(body, bytes | bytearray | memoryview) else body


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def collect_body(body: Body) -> bytes:
    """Any body as bytes (the iterator is closed even when it fails)."""
    if isinstance(body, bytes):
        return body
    try:
        return b"".join([part async for part in body])
    finally:
        await aclose(body)


async def aclose(iterator: object) -> None:
    """Close an async generator (so its ``finally`` blocks run now, not at GC). A failure
    while closing is dropped: the answer to Lambda must still go out."""
    close = getattr(iterator, "aclose", None)
    if close is not None:
        with contextlib.suppress(Exception):
            await close()
