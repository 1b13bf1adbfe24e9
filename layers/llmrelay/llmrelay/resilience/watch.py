"""``ModelWatch``: how a consumer that does not know ``Routed`` reads a resilient stream.

The gateway's guard and encoders speak block events, ``Finish`` and ``Failure`` only; the watch
takes the ``Routed`` announcement out of the stream and keeps it, so that the gateway can
name the answering model in its ``meta`` once the first item has arrived (the announcement
always comes just before it, from the same task).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator

from llmrelay.events import Failure, Routed, StreamEvent

__all__ = ["AnswerStream", "ModelWatch"]

AnswerStream = AsyncIterator[Routed | StreamEvent | Failure]
"""A stream the gateway answers from: a resilient stream, or any plain one."""


class ModelWatch:
    """``events(stream)`` is ``stream`` without ``Routed`` items; ``routed`` is the last
    one seen (``None`` until then, and for streams that never announce)."""

    def __init__(self) -> None:
        self.routed: Routed | None = None

    async def events(self, stream: AnswerStream) -> AsyncGenerator[StreamEvent | Failure, None]:
        try:
            async for item in stream:
                if isinstance(item, Routed):
                    self.routed = item
                else:
                    yield item
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
