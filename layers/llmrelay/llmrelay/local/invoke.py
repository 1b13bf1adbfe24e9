"""``llmrelay invoke events/<file>.json``: one invocation through one worker, printed as
it arrives: the prelude as a status line on stderr, the body on stdout. Exits 1 when the
function fails (init error, ``/error``, error trailer, timeout), 0 otherwise."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TextIO

from llmrelay.local.function import LocalFunction
from llmrelay.local.invocation import FunctionTimeout, InvocationFailed
from llmrelay.local.pool import WorkerPool
from llmrelay.local.response import HttpItem, ResponseDone, ResponseHead, decode_response
from llmrelay.local.runtime_api import InitFailed

__all__ = ["read_event", "run_invoke", "status_line"]


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


async def _invoke(function: LocalFunction, event: bytes, err: TextIO) -> int:
    pool = WorkerPool(function.spec, concurrency=1, queue_timeout_s=0)
    began = time.monotonic()
    try:
        async with pool.lease() as lease:
            invocation = lease.worker.invoke(event)
            try:
                code = await _print(decode_response(invocation.items()), err)
            except FunctionTimeout as exc:
                invocation.close()
                print(f"\n{exc}", file=err, flush=True)
                code = 1
            duration = (time.monotonic() - began) * 1000 - lease.worker.init_ms
            report = f"REPORT RequestId: {invocation.request_id} Duration: {duration:.0f} ms"
            print(f"{report} Init Duration: {lease.worker.init_ms:.0f} ms", file=err)
            return code
    except InitFailed as exc:
        print(f"init failed: {exc}", file=err)
        return 1
    finally:
        await pool.close()


def run_invoke(function: LocalFunction, event: bytes, err: TextIO | None = None) -> int:
    return asyncio.run(_invoke(function, event, err or sys.stderr))
