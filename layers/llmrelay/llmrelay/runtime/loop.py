"""The runtime loop: import the handler, then next event → handler → streamed response.

With SnapStart, the snapshot's lifecycle (hooks and ``restore/next``, see
:mod:`llmrelay.runtime.snapstart`) runs between the import and the first ``/next``.

``python -m llmrelay.runtime`` runs :func:`main` (the exec wrapper ``llmrelay-stream`` starts
it on Lambda's managed Python runtime). One event loop serves the whole life of the process,
so the clients an app caches, and their open connections, survive warm invocations.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
from collections.abc import Awaitable, Mapping
from typing import Any

from llmrelay.http import HttpResponse
from llmrelay.redact import redact
from llmrelay.runtime.api import Invocation, RuntimeApi, RuntimeApiError
from llmrelay.runtime.context import FunctionInfo, LambdaContext
from llmrelay.runtime.event import from_result
from llmrelay.runtime.loader import HandlerLoadError, load_handler
from llmrelay.runtime.report import ErrorReport, log
from llmrelay.runtime.snapstart import SnapStartFailed, snapshot_and_restore
from llmrelay.runtime.snapstart import enabled as snap_start_enabled
from llmrelay.runtime.stream import check_reply, post_failure, send_response

__all__ = ["main", "serve"]

_TRACE_ENV = "_X_AMZN_TRACE_ID"


async def serve(
    api: RuntimeApi,
    handler: object,
    *,
    function: FunctionInfo | None = None,
    max_invocations: int | None = None,
) -> None:
    """Answer invocations until ``max_invocations`` (forever when ``None``). Returns early
    only by raising :class:`RuntimeApiError` when Lambda says the environment is broken."""
    info = function or FunctionInfo.from_environ(os.environ)
    served = 0
    try:
        while max_invocations is None or served < max_invocations:
            invocation = await api.next_invocation()
            await _invoke(api, handler, invocation, info)
            served += 1
            if served == 1:
                _cold_start_over()
    finally:
        api.close()


def _cold_start_over() -> None:
    """Collect garbage again (:func:`main` stopped it for the cold start), leaving out for
    good what init and the first invocation built: it lives as long as the process."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


async def _invoke(
    api: RuntimeApi, handler: object, invocation: Invocation, info: FunctionInfo
) -> None:
    _set_trace_id(invocation.trace_id)
    context = LambdaContext(
        aws_request_id=invocation.request_id,
        invoked_function_arn=invocation.function_arn,
        deadline_ms=invocation.deadline_ms,
        trace_id=invocation.trace_id,
        function=info,
    )
    try:
        response = await _call(handler, json.loads(invocation.body), context)
    except Exception as exc:
        await post_failure(api, invocation.request_id, exc)
        return
    await send_response(api, invocation.request_id, response)


def _set_trace_id(trace_id: str | None) -> None:
    """``_X_AMZN_TRACE_ID`` for this invocation, where the X-Ray SDK and Powertools read it
    (``os.environ``). Only Python's mapping changes: ``os.environ[name] = value`` also calls
    setenv(3), and glibc keeps every value ever set (it cannot know whether someone still
    holds the old string), about 145 bytes for each unique trace id: a warm worker grew by
    that much per invocation, without end (``python -m bench.worker_rss``). A child process
    started without ``env=`` inherits the value the process started with."""
    environ: Any = os.environ
    key = environ.encodekey(_TRACE_ENV)
    if trace_id:
        environ._data[key] = environ.encodevalue(trace_id)
    else:
        environ._data.pop(key, None)


async def _call(handler: Any, event: Mapping[str, Any], context: LambdaContext) -> HttpResponse:
    """A streaming handler's response, or a plain handler's result (sync or async) as one."""
    respond = getattr(handler, "respond", None)
    if respond is not None:
        response: HttpResponse = await respond(event, context)
        return response
    result = handler(event, context)
    if isinstance(result, Awaitable):
        result = await result
    return from_result(result)


async def _init_failed(api: RuntimeApi, error: HandlerLoadError) -> None:
    stack = ErrorReport.from_exception(error.__cause__ or error).stack
    report = ErrorReport(error.kind, redact(error.message), stack)
    log("ERROR", "init failed", **report.to_dict())
    try:
        check_reply(await api.post_init_error(error.kind, report.to_json()), "init error")
    finally:
        api.close()


async def _start(api: RuntimeApi, max_invocations: int | None) -> None:
    try:
        handler = load_handler(os.environ.get("_HANDLER", ""), os.environ.get("LAMBDA_TASK_ROOT"))
    except HandlerLoadError as exc:
        await _init_failed(api, exc)
        raise
    if snap_start_enabled(os.environ):
        await snapshot_and_restore(api)
    await serve(api, handler, max_invocations=max_invocations)


def main(max_invocations: int | None = None) -> int:
    """Run the loop with the settings Lambda puts in the environment; the exit status."""
    address = os.environ.get("AWS_LAMBDA_RUNTIME_API", "")
    if not address:
        log("ERROR", "AWS_LAMBDA_RUNTIME_API is not set: nothing to serve")
        return 2
    # A cold start imports the handler, then the first invocation's SDK and boto3: hundreds
    # of thousands of long-lived objects, which the garbage collector would otherwise scan
    # over and over while they are being made (0.15 s of an OpenAI cold start, 0.3 s of an
    # Anthropic one). Nothing is collected until the first invocation is over.
    gc.disable()
    try:
        # One loop for the life of the process. The handler imports inside it, before the
        # first /next, so what it creates at import time belongs to the loop that serves.
        asyncio.run(_start(RuntimeApi(address), max_invocations))
    except HandlerLoadError:
        return 1
    except SnapStartFailed as exc:
        return exc.exit_status
    except (RuntimeApiError, OSError, asyncio.IncompleteReadError) as exc:
        log("ERROR", "runtime stopped", error=str(exc))
        return 1
    return 0
