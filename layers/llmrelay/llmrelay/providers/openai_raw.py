"""An OpenAI-style stream read from the SDK's raw response: each chunk as the plain JSON
object it is, instead of a pydantic model.

The SDK's ``AsyncStream`` builds a ``ChatCompletionChunk`` model for every chunk, nested
models for its choices and delta included, and that costs about twenty times the
``json.loads`` of the same bytes: most of the CPU a streamed token costs. So llmrelay asks the
SDK for the response itself (the client's ``post`` with the raw-stream option that
``with_streaming_response`` uses: the same request, authentication, timeouts and error
statuses; see ``OpenAIProvider._open``), decodes the SSE (:mod:`llmrelay.sse_decode`)
and hands the decoded objects to :func:`~llmrelay.providers.openai_chunks.events_from_chunks`,
which reads dicts and models alike. What the SDK's stream does besides is kept: ``[DONE]``
ends the answer and the rest of the body is read, so the connection is reused; an ``error``
object in the stream raises the SDK's ``APIError``; a timeout or a transport failure while
reading raises its ``APITimeoutError`` or ``APIConnectionError``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from llmrelay.sse_decode import SseDataDecoder

if TYPE_CHECKING:
    import httpx2

__all__ = ["raw_chunks"]

_DONE = b"[DONE]"


def _stream_error(error: object, request: httpx2.Request) -> Exception:
    import openai

    message = error.get("message") if isinstance(error, dict) else None
    if not isinstance(message, str) or not message:
        message = "An error occurred during streaming"
    return openai.APIError(message, request, body=error)


async def raw_chunks(response: httpx2.Response) -> AsyncIterator[Any]:
    """The JSON object of each chunk of ``response``'s SSE body, up to ``[DONE]``."""
    import openai
    from openai._httpx2 import request_exceptions, timeout_exceptions

    decoder = SseDataDecoder()
    done = False
    try:
        async for piece in response.aiter_bytes():
            for data in decoder.feed(piece):
                if done:
                    continue  # read on to the end of the body: the connection is reused
                if data.startswith(_DONE):
                    done = True
                    continue
                chunk = json.loads(data)
                if isinstance(chunk, dict) and chunk.get("error"):
                    raise _stream_error(chunk["error"], response.request)
                yield chunk
    except timeout_exceptions() as exc:
        raise openai.APITimeoutError(request=response.request) from exc
    except request_exceptions() as exc:
        raise openai.APIConnectionError(request=response.request) from exc
