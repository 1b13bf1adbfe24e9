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
head arrives, or at the read timeout. Clients are shared across warm invocations and
threads (boto3 clients are thread-safe), one per region, endpoint and timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Final

from llmrelay.config import get_settings
from llmrelay.errors import ConfigurationError
from llmrelay.events import StreamEvent
from llmrelay.providers.base import ProviderCall
from llmrelay.providers.bedrock_errors import map_error
from llmrelay.providers.bedrock_events import ConverseEvents
from llmrelay.providers.bedrock_params import converse_request

__all__ = ["BedrockProvider", "Target", "clear_clients"]

_THREAD_NAME: Final = "llmrelay-bedrock"


@dataclass(frozen=True, slots=True)
class Target:
    """Where and how a client connects: one client per distinct target."""

    region: str
    endpoint_url: str | None
    connect_timeout_s: float
    read_timeout_s: float
    # boto3 reads these itself; they are part of the key so that a change makes a new client.
    environment: tuple[str | None, ...] = ()


_clients: dict[Target, Any] = {}
_clients_lock = threading.Lock()


def _new_client(target: Target) -> Any:
    import boto3  # type: ignore[import-untyped]  # first use only, and off the event loop
    from botocore.config import Config  # type: ignore[import-untyped]

    config = Config(
        connect_timeout=target.connect_timeout_s,
        read_timeout=target.read_timeout_s,
        retries={"total_max_attempts": 1, "mode": "standard"},
        user_agent_extra="llmrelay",
    )
    session = boto3.session.Session()
    return session.client(
        "bedrock-runtime",
        region_name=target.region,
        endpoint_url=target.endpoint_url,
        config=config,
    )


def client_for(target: Target) -> Any:
    """The shared client for ``target`` (made on first use: call it off the event loop)."""
    with _clients_lock:
        client = _clients.get(target)
        if client is None:
            client = _clients[target] = _new_client(target)
        return client


def clear_clients() -> None:
    """Forget every client (tests, and a process whose credentials or endpoints changed)."""
    with _clients_lock:
        _clients.clear()


def target_for(call: ProviderCall) -> Target:
    settings = get_settings()
    region = (
        settings.environ.get("LLMRELAY_BEDROCK_REGION", "").strip()
        or os.environ.get("AWS_REGION", "").strip()
        or os.environ.get("AWS_DEFAULT_REGION", "").strip()
    )
    if not region:
        raise ConfigurationError(
            "provider 'bedrock' needs a region: AWS_REGION or LLMRELAY_BEDROCK_REGION",
            provider=call.provider,
        )
    # The access key id, not the secret: credentials that change (tests; never a warm Lambda)
    # make a new client, which resolves them again.
    names = (
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
        "AWS_ENDPOINT_URL",
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
    )
    return Target(
        region=region,
        endpoint_url=call.base_url,
        connect_timeout_s=settings.upstream_connect_timeout_s,
        read_timeout_s=settings.upstream_read_timeout_s,
        environment=tuple(os.environ.get(name) for name in names),
    )


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
            target=self._run, args=(client, request), name=_THREAD_NAME, daemon=True
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
