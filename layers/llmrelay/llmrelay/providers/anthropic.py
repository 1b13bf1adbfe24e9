"""``anthropic``: Claude through the official SDK's event stream.

``AsyncAnthropic.messages.create(stream=True)`` yields the stream's raw events, which become
block events in :mod:`llmrelay.providers.anthropic_events` (text, thinking with its
signature, redacted thinking, tool calls, cumulative usage with cache tokens). Not the
``messages.stream(...)`` helper: it rebuilds a snapshot of the whole message on every event
and emits a derived copy of each delta, which cost 40% of the CPU per streamed chunk
(98 against 60 µs, ``bench.text_path_child``), for a message llmrelay never reads; its one
check llmrelay loses, parsing a tool's input JSON at the block's end, is the client's to
make, as with every other provider (the arguments are passed on as the model sent them).
The system prompt goes in the ``system`` parameter, never in ``messages``.

The SDK (about 1 s of import time) is imported on first use, not by ``import llmrelay``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from llmrelay.errors import LLMRelayError, UpstreamTimeout, UpstreamUnavailable
from llmrelay.events import StreamEvent
from llmrelay.providers.anthropic_events import events_from_stream, finish_reason
from llmrelay.providers.anthropic_params import AnthropicArguments, anthropic_arguments
from llmrelay.providers.base import ProviderCall
from llmrelay.providers.clients import ClientCache
from llmrelay.providers.errormap import (
    error_for_status,
    error_for_type,
    message_from_body,
    parse_retry_after,
    upstream_message,
)
from llmrelay.providers.tls import tls_context

if TYPE_CHECKING:
    from anthropic import APIStatusError, AsyncAnthropic, AsyncStream
    from anthropic.types import RawMessageStreamEvent

__all__ = ["DEFAULT_MAX_TOKENS", "AnthropicProvider", "finish_reason"]

# Anthropic requires max_tokens. When the request sets none, allow as much as llmrelay's
# default ceiling (LLMRELAY_MAX_TOKENS_CEILING), so an answer is bounded but rarely cut short.
DEFAULT_MAX_TOKENS = 4096


class AnthropicProvider:
    """Streams Claude answers; one SDK client per (provider, key, base URL) and event loop.

    Retries belong to the gateway, so the SDK's own are off (``max_retries=0``): a 429 or
    529 reaches the caller at once, with its ``retry_after``. ``read_timeout_s`` bounds each
    wait for bytes (the first one, then every gap: the API pings streams that are idle).
    """

    def __init__(
        self,
        *,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 60.0,
        default_max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> None:
        self._connect_timeout_s = connect_timeout_s
        self._read_timeout_s = read_timeout_s
        self._default_max_tokens = default_max_tokens
        self.clients: ClientCache[AsyncAnthropic] = ClientCache()

    def client_for(self, call: ProviderCall) -> AsyncAnthropic:
        """The cached client for ``call``'s key and base URL on the running loop."""
        key = (call.provider, call.api_key, call.base_url)
        return self.clients.get(key, lambda: self._new_client(call))

    def _new_client(self, call: ProviderCall) -> AsyncAnthropic:
        import anthropic  # first use only: the SDK costs about 1 s of cold start

        connect = self._connect_timeout_s
        timeout = anthropic.Timeout(self._read_timeout_s, connect=connect, pool=connect)
        # base_url is passed unchanged: Anthropic's is the bare root (the SDK adds /v1/...).
        # The SDK's own HTTP client (its limits, keep-alive), over the shared TLS context.
        return anthropic.AsyncAnthropic(
            api_key=call.api_key,
            base_url=call.base_url,
            timeout=timeout,
            max_retries=0,
            http_client=anthropic.DefaultAsyncHttpxClient(verify=tls_context(), timeout=timeout),
        )

    async def stream(self, call: ProviderCall) -> AsyncIterator[StreamEvent]:
        # Built first: what Anthropic would refuse is refused before any upstream call.
        arguments = anthropic_arguments(call, self._default_max_tokens)
        try:
            async with self._open(call, arguments) as stream:
                events = events_from_stream(stream, call.provider, arguments.json_tool)
                async for event in events:
                    yield event
        except _upstream_failures() as exc:
            raise _error_from(exc, call) from exc

    @contextlib.asynccontextmanager
    async def _open(
        self, call: ProviderCall, arguments: AnthropicArguments
    ) -> AsyncIterator[AsyncStream[RawMessageStreamEvent]]:
        stream = await self.client_for(call).messages.create(**arguments.kwargs, stream=True)
        try:
            yield stream
        finally:
            await stream.close()


def _upstream_failures() -> tuple[type[Exception], ...]:
    """What can go wrong upstream (evaluated only once something has gone wrong)."""
    import anthropic
    import httpx2  # the SDK's transport: its errors surface unwrapped mid-stream

    # ValueError: an event that is not JSON, or content before message_start (garbled);
    # RuntimeError: what the SDK raises for a stream it cannot follow.
    return (anthropic.AnthropicError, httpx2.HTTPError, ValueError, RuntimeError)


def _error_from(exc: Exception, call: ProviderCall) -> LLMRelayError:
    """The llmrelay error for an SDK or transport exception (never quoting a key)."""
    import anthropic
    import httpx2

    if isinstance(exc, anthropic.APIStatusError):
        return _status_error(exc, call)
    if isinstance(exc, (anthropic.APITimeoutError, httpx2.TimeoutException)):
        return UpstreamTimeout(f"{call.provider} did not answer in time", provider=call.provider)
    if isinstance(exc, (anthropic.APIConnectionError, httpx2.TransportError)):
        return UpstreamUnavailable(
            f"{call.provider} connection failed or dropped", provider=call.provider
        )
    return _unreadable(call)


def _status_error(exc: APIStatusError, call: ProviderCall) -> LLMRelayError:
    status, error_type = exc.status_code, exc.type
    # The error's type and message are upstream text: both are quoted through redaction.
    text = exc.api_message or message_from_body(exc.body)
    detail = ": ".join(part for part in (error_type, text) if part)
    if 200 <= status < 300:
        # An `event: error` on a 200 stream (overloaded_error, ...): only its type tells.
        what = "reported an error mid-stream"
        message = upstream_message(call.provider, what, detail, [call.api_key])
        return error_for_type(error_type, message, provider=call.provider)
    message = upstream_message(call.provider, f"answered HTTP {status}", detail, [call.api_key])
    return error_for_status(
        status,
        message,
        provider=call.provider,
        retry_after=parse_retry_after(dict(exc.response.headers.items())),
        error_type=error_type,
        code=exc.error_code,
    )


def _unreadable(call: ProviderCall) -> UpstreamUnavailable:
    return UpstreamUnavailable(f"{call.provider} sent an unreadable stream", provider=call.provider)
