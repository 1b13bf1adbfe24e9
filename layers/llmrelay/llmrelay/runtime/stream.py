"""Send one invocation's answer to the Runtime API: streamed, or as an error.

The order is what makes errors land in the right place: the app's response *and its first
body bytes* are in hand before the streamed ``POST`` opens, so a failure up to that point
goes to ``/invocation/{id}/error`` (the client then gets a real 5xx); once the prelude is
out, a failure ends the chunked body with the two error trailers instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from llmrelay.http import HttpResponse
from llmrelay.runtime import framing
from llmrelay.runtime.api import Reply, ResponseStream, RuntimeApi, RuntimeApiError
from llmrelay.runtime.handler import aclose, body_iterator
from llmrelay.runtime.report import ErrorReport, log

__all__ = ["check_reply", "post_failure", "send_response"]

_TRANSPORT_ERRORS = (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError)


def check_reply(reply: Reply, what: str, request_id: str = "") -> None:
    """Lambda accepts with 202. A 5xx means the environment is broken (the runtime must
    exit); anything else is logged and the loop goes on to the next event."""
    if reply.status == 202:
        return
    if reply.status >= 500:
        raise RuntimeApiError(what, reply.status, reply.body)
    detail = reply.body[:500].decode("utf-8", "replace")
    log("ERROR", f"{what} rejected", requestId=request_id, status=reply.status, detail=detail)


async def post_failure(api: RuntimeApi, request_id: str, exc: BaseException) -> None:
    """Report a failure before the first byte to ``/invocation/{id}/error``."""
    report = ErrorReport.from_exception(exc)
    log("ERROR", "invocation failed", requestId=request_id, **report.to_dict())
    kind = framing.error_type(report.error_type)
    reply = await api.post_error(request_id, kind, report.to_json())
    check_reply(reply, "invocation error", request_id)


async def send_response(api: RuntimeApi, request_id: str, response: HttpResponse) -> None:
    """Stream ``response`` to Lambda as the app produces it."""
    chunks = body_iterator(response.body)
    try:
        prelude = framing.prelude(response.status, response.headers, response.cookies)
        first = await _first_chunk(chunks)
    except Exception as exc:
        await aclose(chunks)
        await post_failure(api, request_id, exc)
        return
    stream = await api.open_response(request_id)
    try:
        await stream.write(prelude, first or framing.EMPTY_BODY)
        reply = await _stream_rest(chunks, stream, request_id)
    except _TRANSPORT_ERRORS as exc:
        log("ERROR", "lost the Runtime API while streaming", requestId=request_id, error=repr(exc))
        return
    finally:
        stream.close()
        await aclose(chunks)
    check_reply(reply, "streamed response", request_id)


async def _first_chunk(chunks: AsyncIterator[bytes]) -> bytes:
    """The first non-empty chunk, or ``b""`` when the body is empty."""
    async for part in chunks:
        if part:
            return _as_bytes(part)
    return b""


def _as_bytes(part: object) -> bytes:
    if isinstance(part, bytes | bytearray | memoryview):
        return bytes(part)
    raise TypeError(f"a response body yields bytes, not {type(part).__name__}")


async def _stream_rest(
    chunks: AsyncIterator[bytes], stream: ResponseStream, request_id: str
) -> Reply:
    """Write each chunk as it comes; end with trailers if the app fails mid-stream."""
    while True:
        try:
            part = _as_bytes(await anext(chunks))
        except StopAsyncIteration:
            return await stream.finish()
        except Exception as exc:
            report = ErrorReport.from_exception(exc)
            log("ERROR", "response stream failed", requestId=request_id, **report.to_dict())
            kind = framing.error_type(report.error_type)
            return await stream.finish(framing.error_end(kind, report.to_json()))
        if part:
            await stream.write(part)
