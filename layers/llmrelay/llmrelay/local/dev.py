"""``llmrelay dev``: the function URL, the Runtime API emulators and the workers, until
SIGINT or SIGTERM; then it stops accepting, terminates every worker and exits 0."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from llmrelay.httpd import Limits, serve
from llmrelay.local.front import FRONT_LIMITS, FunctionUrl
from llmrelay.local.function import LocalFunction
from llmrelay.local.latency import prefer_latency
from llmrelay.local.pool import WorkerPool

__all__ = ["DevOptions", "Gateway", "banner", "run_dev", "running_gateway"]

_log = logging.getLogger("llmrelay.local")
_HOST = "127.0.0.1"  # loopback only: the emulator has no authentication of its own
_CURL_BODY = '{"messages":[{"role":"user","content":"hello streaming world"}]}'


@dataclass(frozen=True)
class DevOptions:
    port: int = 3000
    concurrency: int = 8
    queue_timeout_s: float = 10.0
    # Cold starts restore a worker initialised ahead of time (SnapStart's, see WorkerPool).
    snap_start: bool = False
    limits: Limits = FRONT_LIMITS


@dataclass(frozen=True)
class Gateway:
    url: str
    port: int
    pool: WorkerPool


def banner(function: LocalFunction, options: DevOptions, port: int) -> str:
    config = function.config
    return "\n".join(
        [
            f"llmrelay dev: function URL on http://{_HOST}:{port}",
            f"  function  {config.logical_id} ({config.handler} in {config.task_root})",
            f"  workers   up to {options.concurrency}, started on demand; "
            f"timeout {function.timeout_s:g} s; memory {config.memory_mb} MB"
            + ("; SnapStart: cold starts restore a snapshot" if options.snap_start else ""),
            f"  secret    {function.secret or 'none (set --secrets-file keys.json)'}",
            f"  durable   {function.durable or 'off'} (resume: GET /chat/<stream_id>)",
            f"  echo      {function.spec.environment.get('LLMRELAY_ECHO_DELAY_MS') or '0'} ms "
            "between words (set LLMRELAY_ECHO_DELAY_MS=100 to watch a stream arrive)",
            f"  try       curl -N -X POST localhost:{port}/chat -d '{_CURL_BODY}'",
            "  stop      Ctrl-C",
        ]
    )


@contextlib.asynccontextmanager
async def running_gateway(function: LocalFunction, options: DevOptions) -> AsyncIterator[Gateway]:
    """The front listening on loopback (``port`` 0 picks one); on exit it stops accepting
    and every worker is terminated. The calling thread, which serves, asks for a short
    scheduler slice (:mod:`llmrelay.local.latency`)."""
    prefer_latency()
    spec = dataclasses.replace(function.spec, snap_start=options.snap_start)
    pool = WorkerPool(spec, options.concurrency, options.queue_timeout_s)
    spare = asyncio.ensure_future(pool.prepare())  # the first snapshot, in the background
    spare.add_done_callback(_report_snapshot)
    front = FunctionUrl(pool, options.port)
    server = await serve(front, _HOST, options.port, limits=options.limits, errors=front.refusal)
    front.port = int(server.sockets[0].getsockname()[1])
    try:
        yield Gateway(f"http://{_HOST}:{front.port}", front.port, pool)
    finally:
        server.close()
        await pool.close()


def _report_snapshot(spare: asyncio.Future[Any]) -> None:
    if not spare.cancelled() and spare.exception() is not None:
        _log.warning("llmrelay dev: the SnapStart init failed: %s", spare.exception())


async def _serve(function: LocalFunction, options: DevOptions) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        try:
            gateway = await stack.enter_async_context(running_gateway(function, options))
        except OSError as exc:
            _log.error("llmrelay dev: cannot listen on %s:%s: %s", _HOST, options.port, exc)
            return 1
        _log.info("%s", banner(function, options, gateway.port))
        await stop.wait()
        _log.info("llmrelay dev: stopping")
    await _cancel_others()
    return 0


async def _cancel_others() -> None:
    """End the connections still open (their workers are gone already)."""
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 2)


def run_dev(function: LocalFunction, options: DevOptions) -> int:
    return asyncio.run(_serve(function, options))
