"""Hugging Face (the Inference Providers router, a TGI server, an Inference Endpoint) through
the official SDK: ``AsyncInferenceClient(base_url=...).chat_completion(stream=True)``.

The client posts to ``<base_url>/chat/completions`` (``/v1/chat/completions`` when the base
URL has no ``/v1``) and reads OpenAI-style chunks, so the stream is translated by the same
code as OpenAI's (:func:`llmrelay.providers.openai.events_from_chunks`).

Client reuse: ``AsyncInferenceClient`` parks every streamed response in its exit stack until
the client is closed, so one client kept across warm invocations would hold a response (and
its request body) per call, and a connection per failed call. llmrelay therefore keeps the
connection pool (an ``httpx2.AsyncClient`` from huggingface_hub's own session factory, with
its hooks) per (provider, key, base URL) and loop, and wraps it per call in a light
``AsyncInferenceClient`` that is closed when the call ends: that releases the call's response
and nothing else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING

from llmrelay.config import get_settings
from llmrelay.errors import LLMRelayError, UpstreamBadRequest, UpstreamTimeout, UpstreamUnavailable
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
from llmrelay.providers.openai_chunks import events_from_chunks
from llmrelay.providers.openai_params import openai_messages, openai_options

if TYPE_CHECKING:
    import httpx2
    from huggingface_hub import AsyncInferenceClient, ChatCompletionStreamOutput
    from huggingface_hub.errors import HfHubHTTPError, TextGenerationError

__all__ = ["HuggingFaceProvider", "map_error"]


def _new_pool() -> httpx2.AsyncClient:
    from huggingface_hub import get_async_session

    return get_async_session()


class HuggingFaceProvider:
    """``kind="huggingface"``: model strings ``huggingface/<org>/<model>``."""

    def __init__(self) -> None:
        self.clients: ClientCache[httpx2.AsyncClient] = ClientCache()

    def client(self, call: ProviderCall) -> AsyncInferenceClient:
        """A per-call SDK client over the cached connection pool (see the module note)."""
        from huggingface_hub import AsyncInferenceClient

        pool = self.clients.get((call.provider, call.api_key, call.base_url), _new_pool)
        # huggingface_hub takes one number for every phase; the read bound is the one that
        # matters once connected (a stalled stream), so it bounds connecting too.
        client = AsyncInferenceClient(
            base_url=call.base_url,
            api_key=call.api_key,
            timeout=get_settings().upstream_read_timeout_s,
        )
        client._async_client = pool  # no public way to share a pool; see the module note
        return client

    async def stream(self, call: ProviderCall) -> AsyncIterator[StreamEvent]:
        client = self.client(call)
        try:
            async for event in events_from_chunks(self._chunks(client, call), call.provider):
                yield event
        except _sdk_errors() as exc:
            raise map_error(exc, call) from exc
        finally:
            # What close() does: releases this call's response, never the shared pool.
            await client.exit_stack.aclose()

    async def _chunks(
        self, client: AsyncInferenceClient, call: ProviderCall
    ) -> AsyncIterator[ChatCompletionStreamOutput]:
        from huggingface_hub import ChatCompletionInputStreamOptions

        options = openai_options(call)
        # Fields the client has no argument for travel in its extra_body, as JSON.
        extra = {
            k: options.pop(k) for k in ("parallel_tool_calls", "reasoning_effort") if k in options
        }
        chunks = await client.chat_completion(
            openai_messages(call),
            model=call.model,
            stream=True,
            # Real upstreams send usage only when asked.
            stream_options=ChatCompletionInputStreamOptions(include_usage=True),
            max_tokens=call.max_tokens,
            temperature=call.temperature,
            extra_body=extra or None,
            **options,
        )
        async for chunk in chunks:
            yield chunk


def _sdk_errors() -> tuple[type[Exception], ...]:
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError, InferenceTimeoutError, TextGenerationError

    # OSError: HfHubHTTPError's base, and huggingface_hub's offline mode; ValueError: a
    # chunk that is not JSON.
    return (
        HfHubHTTPError,
        InferenceTimeoutError,
        TextGenerationError,
        httpx2.HTTPError,
        OSError,
        ValueError,
    )


def map_error(exc: Exception, call: ProviderCall) -> LLMRelayError:
    """The llmrelay error for a ``huggingface_hub`` (or ``httpx2``) exception."""
    import httpx2
    from huggingface_hub.errors import (
        HfHubHTTPError,
        InferenceTimeoutError,
        TextGenerationError,
        ValidationError,
    )

    provider = call.provider
    if isinstance(exc, HfHubHTTPError):
        return _status_error(exc, call)
    if isinstance(exc, (InferenceTimeoutError, httpx2.TimeoutException)):
        return UpstreamTimeout(
            upstream_message(provider, "did not answer in time"), provider=provider
        )
    if isinstance(exc, ValidationError):  # TGI's in-stream "validation" error
        message = upstream_message(provider, "refused the request", str(exc), (call.api_key,))
        return UpstreamBadRequest(message, provider=provider)
    if isinstance(exc, TextGenerationError):
        return _stream_error(exc, call)
    if isinstance(exc, (httpx2.HTTPError, OSError)):
        message = upstream_message(provider, "connection failed or was cut mid-answer")
        return UpstreamUnavailable(message, provider=provider)
    message = upstream_message(provider, "sent a malformed stream chunk")
    return UpstreamUnavailable(message, provider=provider)


def _status_error(exc: HfHubHTTPError, call: ProviderCall) -> LLMRelayError:
    import httpx2

    response = exc.response
    try:
        body: object = response.json()
    except (httpx2.ResponseNotRead, ValueError):  # a streamed or non-JSON error body
        body = None
    error_type, code = _type_and_code(body)
    detail = message_from_body(body)
    status = response.status_code
    message = upstream_message(call.provider, f"answered HTTP {status}", detail, (call.api_key,))
    return error_for_status(
        status,
        message,
        provider=call.provider,
        retry_after=parse_retry_after(response.headers),
        error_type=error_type,
        code=code,
    )


def _stream_error(exc: TextGenerationError, call: ProviderCall) -> LLMRelayError:
    # TGI sends {"error": "<text>", "error_type": "overloaded"}; the SDK keeps only the class
    # (OverloadedError, GenerationError...). An OpenAI-style provider behind the router sends
    # {"error": {"message", "type", "code"}}, which the SDK passes on as UnknownError(dict).
    raw = exc.args[0] if exc.args else None
    error_type, code = _type_and_code({"error": raw})
    detail = message_from_body({"error": raw}) if raw is not None else None
    message = upstream_message(call.provider, "failed mid-answer", detail, (call.api_key,))
    kind = error_type or type(exc).__name__.removesuffix("Error").lower()
    return error_for_type(kind, message, provider=call.provider, code=code)


def _type_and_code(body: object) -> tuple[str | None, str | None]:
    """``(type, code)`` of an error document: OpenAI's ``error.type``/``error.code`` or
    TGI's ``error_type``."""
    if not isinstance(body, Mapping):
        return None, None
    error = body.get("error")
    if isinstance(error, Mapping):
        kind, code = error.get("type"), error.get("code")
        return (kind if isinstance(kind, str) else None), (code if isinstance(code, str) else None)
    kind = body.get("error_type")
    return (kind if isinstance(kind, str) else None), None
