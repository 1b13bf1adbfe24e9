"""OpenAI and every OpenAI-compatible upstream (groq, gemini, mistral, ..., ``compat``)
through the official SDK: ``AsyncOpenAI``, a streamed ``POST /chat/completions`` sent with the
client's ``post`` and read raw (see :meth:`OpenAIProvider._open` and :mod:`.openai_raw`).

The SDK is imported on first use (about 0.5 s of cold start that echo-only calls never pay).
One client per (provider, key, base URL) and event loop keeps connections open across warm
invocations; the SDK's own retries are off (``max_retries=0``): retrying is the gateway's
decision, made once, with the deadline in view.

Finish reasons: ``finish_reason: "content_filter"`` is a normal end of the answer (the text
so far has been sent), so it becomes ``Finish(reason="content_filter")``. An upstream that
refuses the request outright (a 4xx, or an in-stream error, whose code says
``content_filter``) raises :class:`~llmrelay.errors.ContentFiltered`. A stream that ends with
no finish reason at all was cut short and raises ``UpstreamUnavailable``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from llmrelay.config import get_settings
from llmrelay.errors import LLMRelayError, UpstreamTimeout, UpstreamUnavailable
from llmrelay.events import StreamEvent
from llmrelay.providers.base import ProviderCall
from llmrelay.providers.clients import ClientCache
from llmrelay.providers.errormap import (
    error_for_status,
    error_for_type,
    message_from_body,
    parse_retry_after,
    upstream_message,
)
from llmrelay.providers.openai_chunks import events_from_chunks, finish_reason_of
from llmrelay.providers.openai_params import openai_messages, openai_options
from llmrelay.providers.openai_raw import raw_chunks
from llmrelay.providers.tls import tls_context

if TYPE_CHECKING:
    import httpx2
    from openai import AsyncOpenAI, Timeout
    from openai._models import SecurityOptions

__all__ = ["OpenAIProvider", "events_from_chunks", "finish_reason_of"]

# OpenAI-compatible servers without auth (vLLM, Ollama...): the SDK refuses an empty key.
_NO_KEY = "no-key"
# What ``with_streaming_response`` sets: the SDK sends the request and hands back the
# response unread, its status checked (an error status raises as from ``create``).
_RAW_STREAM = {"X-Stainless-Raw-Response": "stream"}
_BEARER: SecurityOptions = {"bearer_auth": True}


def _timeout() -> Timeout:
    from openai import Timeout

    settings = get_settings()
    # The read timeout bounds every silence, first byte included: a stalled stream fails.
    return Timeout(settings.upstream_read_timeout_s, connect=settings.upstream_connect_timeout_s)


def _new_client(call: ProviderCall) -> AsyncOpenAI:
    from openai import AsyncOpenAI, DefaultAsyncHttpx2Client

    return AsyncOpenAI(
        api_key=call.api_key or _NO_KEY,
        base_url=call.base_url,
        max_retries=0,
        timeout=_timeout(),
        http_client=DefaultAsyncHttpx2Client(verify=tls_context()),
    )


class OpenAIProvider:
    """``kind="openai"``: the provider behind every OpenAI-style preset of the registry."""

    def __init__(self) -> None:
        self.clients: ClientCache[AsyncOpenAI] = ClientCache()

    def client(self, call: ProviderCall) -> AsyncOpenAI:
        """The cached SDK client for the call's provider, key and base URL."""
        key = (call.provider, call.api_key, call.base_url)
        return self.clients.get(key, lambda: _new_client(call))

    async def stream(self, call: ProviderCall) -> AsyncIterator[StreamEvent]:
        import openai

        try:
            async with self._open(call) as response:
                chunks = raw_chunks(response)
                async for event in events_from_chunks(chunks, call.provider):
                    yield event
        except (openai.OpenAIError, ValueError) as exc:  # ValueError: a chunk that is not JSON
            raise map_error(exc, call) from exc

    @contextlib.asynccontextmanager
    async def _open(self, call: ProviderCall) -> AsyncIterator[httpx2.Response]:
        """The streamed request, its raw response in hand (see :mod:`.openai_raw`).

        Sent with the client's ``post``, not ``chat.completions.create``: ``create`` runs
        its parameters through the SDK's ``maybe_transform``, which walks every message
        against the TypedDicts by reflection (about 190 µs for a one-message request on the
        development machine, more per message and tool) only to drop unset values and
        rename aliased keys, which a chat completion request has none of. The body here is
        plain JSON already (:mod:`.openai_params`, shared with Hugging Face). The SDK still
        builds the request (authentication, headers, timeouts) and raises its errors."""
        import httpx2

        max_tokens, max_completion_tokens = _token_limits(call)
        body: dict[str, Any] = {
            "model": call.model,
            "messages": openai_messages(call),
            "stream": True,
            # Real upstreams send usage only when asked.
            "stream_options": {"include_usage": True},
            **openai_options(call),
        }
        optional = {
            "temperature": call.temperature,
            "max_tokens": max_tokens,
            "max_completion_tokens": max_completion_tokens,
            "user": call.user,
        }
        body.update({name: value for name, value in optional.items() if value is not None})
        response = await self.client(call).post(
            "/chat/completions",
            cast_to=httpx2.Response,
            body=body,
            # As create's: the API key only (the default would also allow an admin key).
            options={"headers": _RAW_STREAM, "timeout": _timeout(), "security": _BEARER},
        )
        try:
            yield response
        finally:
            await response.aclose()


def _token_limits(call: ProviderCall) -> tuple[int | None, int | None]:
    """``(max_tokens, max_completion_tokens)``: OpenAI's reasoning models refuse
    ``max_tokens``, while compatible servers mostly know nothing else."""
    if call.max_tokens is None:
        return None, None
    if call.provider == "openai":
        return None, call.max_tokens
    return call.max_tokens, None


def map_error(exc: Exception, call: ProviderCall) -> LLMRelayError:
    """The llmrelay error for an ``openai`` SDK exception (or an undecodable chunk)."""
    import openai

    provider, secrets = call.provider, (call.api_key,)
    if isinstance(exc, openai.APITimeoutError):  # before APIConnectionError: a subclass
        message = upstream_message(provider, "did not answer in time")
        return UpstreamTimeout(message, provider=provider)
    if isinstance(exc, openai.APIConnectionError):
        message = upstream_message(provider, "connection failed or was cut mid-answer")
        return UpstreamUnavailable(message, provider=provider)
    if isinstance(exc, openai.APIStatusError):
        detail = message_from_body(exc.body)
        message = upstream_message(provider, f"answered HTTP {exc.status_code}", detail, secrets)
        retry_after = parse_retry_after(exc.response.headers)
        return error_for_status(
            exc.status_code,
            message,
            provider=provider,
            retry_after=retry_after,
            error_type=exc.type,
            code=exc.code,
        )
    if isinstance(exc, openai.APIError):  # an error event on the 200 stream
        message = upstream_message(provider, "failed mid-answer", exc.message, secrets)
        return error_for_type(exc.type, message, provider=provider, code=exc.code)
    if isinstance(exc, ValueError):
        message = upstream_message(provider, "sent a malformed stream chunk")
        return UpstreamUnavailable(message, provider=provider)
    message = upstream_message(provider, f"client error ({type(exc).__name__})")
    return UpstreamUnavailable(message, provider=provider)
