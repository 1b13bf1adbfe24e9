"""``bedrock``: Amazon Bedrock through boto3's ``bedrock-runtime`` ``converse_stream``.

Model strings are ``bedrock/<modelId>``: a model id, an inference profile id
(``us.anthropic.claude-...``) or an ARN. The call is signed with the function's own AWS
credentials (boto3's standard chain: the Lambda role), so the secret holds nothing for it.
The region is ``LLMRELAY_BEDROCK_REGION``, else ``AWS_REGION`` / ``AWS_DEFAULT_REGION``; the
endpoint is boto3's, which its standard ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` (or
``LLMRELAY_BEDROCK_BASE_URL``) overrides. botocore's own retries are off: retrying is the
gateway's decision, bounded by the deadline.

boto3 is synchronous. Each call runs in a daemon thread of its own, which creates the
client on first use (boto3's import and service model load stay off the event loop too),
reads the event stream and hands each event to the loop. When the consumer goes away (a
client that disconnects, a timeout, the deadline), the stream's socket is shut down
(urllib3's ``HTTPResponse.shutdown``), which wakes the blocked read: the thread closes the
connection and ends at once, and nothing it read afterwards is handed on. Until the
response head has come there is no socket to shut: a thread cancelled then ends when the
head arrives, or at the read timeout. Clients: :mod:`llmrelay.providers.bedrock_clients`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Final

from llmrelay.events import StreamEvent
from llmrelay.providers.base import ProviderCall
from llmrelay.providers.bedrock_clients import client_for, target_for
from llmrelay.providers.bedrock_errors import map_error
from llmrelay.providers.bedrock_events import ConverseEvents
from llmrelay.providers.bedrock_params import converse_request

__all__ = ["THREAD_NAME", "BedrockProvider"]

THREAD_NAME: Final = "llmrelay-bedrock"


@dataclass(frozen=True, slots=True)
class _Raised:
    error: Exception


_END: Final = object()


class _Call:
    """One ``converse_stream`` in a daemon thread; its events are handed to the loop."""

    def __init__(self, client: Callable[[], Any], request: dict[str, Any]) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._cancelled = threading.Event()
        self._done = False
        self._lock = threading.Lock()
        self._raw: Any = None  # the urllib3 response, once its head came
        self._thread = threading.Thread(
            target=self._run, args=(client, request), name=THREAD_NAME, daemon=True
        )
        self._thread.start()

    def _hand(self, item: object) -> bool:
        if self._cancelled.is_set():
            return False
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            self._cancelled.set()
            return False
        return True

    def _run(self, client: Callable[[], Any], request: dict[str, Any]) -> None:
        stream = None
        try:
            stream = client().converse_stream(**request)["stream"]
            with self._lock:
                self._raw = stream._raw_stream
            for event in stream:
                if not self._hand(event):
                    return
            with self._lock:
                self._done = True  # read to the end: the connection is back in the pool
            self._hand(_END)
        except Exception as exc:
            self._hand(_Raised(exc))
        finally:
            if stream is not None:
                with contextlib.suppress(Exception):
                    stream.close()  # a connection not read to its end is closed, never reused

    async def next(self) -> object:
        return await self._queue.get()

    def cancel(self) -> None:
        """Stop handing events on and wake the thread's blocked read."""
        self._cancelled.set()
        with self._lock:
            raw = None if self._done else self._raw
        if raw is not None:
            with contextlib.suppress(Exception):
                raw.shutdown()


class BedrockProvider:
    """``kind="bedrock"``: model strings ``bedrock/<modelId | inference profile | ARN>``."""

    async def stream(self, call: ProviderCall) -> AsyncIterator[StreamEvent]:
        request = converse_request(call)  # what Converse cannot take is refused before any call
        target = target_for(call)
        worker = _Call(lambda: client_for(target), request)
        events = ConverseEvents(call.provider)
        try:
            while (item := await worker.next()) is not _END:
                if isinstance(item, _Raised):
                    raise map_error(item.error, call.provider) from item.error
                for event in events.feed(item):  # type: ignore[arg-type]
                    yield event
            for event in events.finish():
                yield event
        finally:
            worker.cancel()
