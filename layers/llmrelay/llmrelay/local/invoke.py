"""``llmrelay invoke events/<file>.json``: one invocation through one worker, printed as
it arrives: the prelude as a status line on stderr, the body on stdout; then, as in Lambda,
the function's post-response work (its log line and metrics, forwarded on stderr) before
its report line. Exits 1 when the function fails (init error, ``/error``, error trailer,
timeout), 0 otherwise."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TextIO

from llmrelay.local.function import LocalFunction
from llmrelay.local.invocation import FunctionTimeout, Invocation, InvocationFailed
from llmrelay.local.pool import WorkerPool
from llmrelay.local.response import HttpItem, ResponseDone, ResponseHead, decode_response
from llmrelay.local.runtime_api import InitFailed
from llmrelay.local.workers import Worker

__all__ = ["read_event", "run_invoke", "status_line"]

_AFTER_RESPONSE_S = 2.0  # the most an invocation's post-response work is waited for


def read_event(path: Path) -> bytes:
    """The event file's bytes, checked to be a JSON object."""
    data = path.read_bytes()
    if not isinstance(json.loads(data), dict):
        raise ValueError(f"{path} must hold a JSON object (a function URL event)")
    return data


def status_line(head: ResponseHead) -> str:
    parts = [f"HTTP {head.status}"]
    parts += [f"{name}: {value}" for name, value in head.headers]
    parts += [f"set-cookie: {cookie}" for cookie in head.cookies]
    return " | ".join(parts)


async def _print(items: AsyncIterator[HttpItem], err: TextIO) -> int:
    out = sys.stdout.buffer
    async for item in items:
        if isinstance(item, ResponseHead):
            print(status_line(item), file=err, flush=True)
        elif isinstance(item, bytes):
            out.write(item)
            out.flush()
        elif isinstance(item, InvocationFailed | ResponseDone) and item.error is not None:
            print(f"\nfunction error: {item.error}", file=err, flush=True)
            return 1
    return 0


async def _answer(invocation: Invocation, err: TextIO) -> int:
    try:
        return await _print(decode_response(invocation.items()), err)
    except FunctionTimeout as exc:
        invocation.close()
        print(f"\n{exc}", file=err, flush=True)
        return 1


async def _after_response(worker: Worker, invocation: Invocation, err: TextIO) -> None:
    """Let the function finish its invocation: as in Lambda, where the sandbox runs until
    the runtime asks for the next event, its work goes on after the response (the log line
    and metrics of :mod:`llmrelay.observability`). Bounded, then the worker is stopped."""
    limit = min(_AFTER_RESPONSE_S, invocation.remaining_s)
    if not await worker.wait_idle(limit):
        print(f"the function was still at work {limit:.2f} s after its response: stopped", file=err)


async def _run(pool: WorkerPool, event: bytes, err: TextIO) -> tuple[int, str]:
    """The exit status and the report line of one invocation."""
    began = time.monotonic()
    async with pool.lease() as lease:
        invocation = lease.worker.invoke(event)
        code = await _answer(invocation, err)
        if not invocation.timed_out:
            await _after_response(lease.worker, invocation, err)
        init_ms = lease.worker.init_ms
        duration = (time.monotonic() - began) * 1000 - init_ms
    report = f"REPORT RequestId: {invocation.request_id} Duration: {duration:.0f} ms"
    return code, f"{report} Init Duration: {init_ms:.0f} ms"


async def _invoke(function: LocalFunction, event: bytes, err: TextIO) -> int:
    pool = WorkerPool(function.spec, concurrency=1, queue_timeout_s=0)
    try:
        code, report = await _run(pool, event, err)
    except InitFailed as exc:
        print(f"init failed: {exc}", file=err)
        return 1
    finally:
        await pool.close()  # the worker's last lines of output are forwarded by then
    print(report, file=err)
    return code


def run_invoke(function: LocalFunction, event: bytes, err: TextIO | None = None) -> int:
    return asyncio.run(_invoke(function, event, err or sys.stderr))
