"""OpenAI and every OpenAI-compatible upstream (groq, gemini, mistral, ..., ``compat``)
through the official SDK: ``AsyncOpenAI`` + ``chat.completions.create(stream=True)``.

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
    from openai import AsyncOpenAI, Omit, Timeout
    from openai._response import AsyncResponseContextManager

__all__ = ["OpenAIProvider", "events_from_chunks", "finish_reason_of"]

# OpenAI-compatible servers without auth (vLLM, Ollama...): the SDK refuses an empty key.
_NO_KEY = "no-key"


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
                chunks = raw_chunks(response.http_response)
                async for event in events_from_chunks(chunks, call.provider):
                    yield event
        except (openai.OpenAIError, ValueError) as exc:  # ValueError: a chunk that is not JSON
            raise map_error(exc, call) from exc

    def _open(self, call: ProviderCall) -> AsyncResponseContextManager[Any]:
        """The streamed request, its raw response in hand (see :mod:`.openai_raw`)."""
        from openai import omit

        max_tokens, max_completion_tokens = _token_limits(call)
        # The messages and options are built as plain JSON (openai_params, shared with Hugging
        # Face); the SDK's TypedDicts describe the same shapes.
        arguments: dict[str, Any] = {
            "model": call.model,
            "messages": openai_messages(call),
            "stream": True,
            # Real upstreams send usage only when asked.
            "stream_options": {"include_usage": True},
            "temperature": omit if call.temperature is None else call.temperature,
            "max_tokens": max_tokens,
            "max_completion_tokens": max_completion_tokens,
            "user": omit if call.user is None else call.user,
            "timeout": _timeout(),
            **openai_options(call),
        }
        completions = self.client(call).chat.completions.with_streaming_response
        manager: AsyncResponseContextManager[Any] = completions.create(**arguments)
        return manager


def _token_limits(call: ProviderCall) -> tuple[int | Omit, int | Omit]:
    """``(max_tokens, max_completion_tokens)``: OpenAI's reasoning models refuse
    ``max_tokens``, while compatible servers mostly know nothing else."""
    from openai import omit

    if call.max_tokens is None:
        return omit, omit
    if call.provider == "openai":
        return omit, call.max_tokens
    return call.max_tokens, omit


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
