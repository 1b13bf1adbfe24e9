"""``python -m bench.emulator [--snap-start] [TEMPLATE]``: llmrelay as ``make dev`` runs it,
in a process of its own.

The function-URL front, the Runtime API emulator and worker processes running the real exec
wrapper, runtime loop and ``functions/chat/app.py`` (from ``template.yaml``), configured by
the environment this process was given (upstream base URLs, the moto secret). One worker at
a time, as the bench sends one request at a time. Commands: ``{"recycle": true}`` stops
every worker, so the next request meets a cold start; ``{"ttft": "<request id>"}`` returns
the time to first delta that the function itself logged for that invocation (its log line,
forwarded from the worker's stdout), to tell the function's share from the emulator's.

With ``--snap-start`` (``llmrelay dev --snap-start``) a cold start restores a worker that was
initialised ahead of time, before-snapshot hooks included; ``recycle`` then answers once the
next such worker is ready, with its pid and how long its init took (what publishing a version
costs).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import sys
import threading
from pathlib import Path
from typing import Any

from bench.child import serve_commands
from llmrelay.httpd import Request, ResponseWriter, serve
from llmrelay.local.front import FunctionUrl
from llmrelay.local.function import LocalFunction, find_template, local_function
from llmrelay.local.latency import prefer_latency
from llmrelay.local.pool import WorkerPool

__all__ = ["main"]


class _FunctionLogs(logging.Handler):
    """Keeps ``ttft_ms`` from the function's per-invocation log lines, by request id."""

    def __init__(self) -> None:
        super().__init__()
        self.ttft: dict[str, float | None] = {}
        self.arrived = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        text = record.args[-1] if isinstance(record.args, tuple) and record.args else ""
        if not isinstance(text, str) or '"message":"request"' not in text:
            return
        try:
            line = json.loads(text)
        except ValueError:
            return
        with self.arrived:
            self.ttft[str(line.get("function_request_id"))] = line.get("ttft_ms")
            self.arrived.notify_all()

    def wait_for(self, request_id: str, timeout_s: float = 2.0) -> float | None:
        with self.arrived:
            self.arrived.wait_for(lambda: request_id in self.ttft, timeout_s)
            return self.ttft.pop(request_id, None)


def _capture_function_logs() -> _FunctionLogs:
    handler = _FunctionLogs()
    logger = logging.getLogger("llmrelay.local")  # the worker's stdout, line by line
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return handler


class _Emulator:
    def __init__(self, function: LocalFunction, snap_start: bool) -> None:
        self.function = function
        self.spec = dataclasses.replace(function.spec, snap_start=snap_start)
        self.pool = self._pool()
        self.front = FunctionUrl(self.pool, 0)
        self.server: asyncio.Server | None = None

    async def handle(self, request: Request, response: ResponseWriter) -> None:
        await self.front(request, response)

    def _pool(self) -> WorkerPool:
        # No snapshot prepared behind a restore: its init would share the CPU with the
        # stream being measured (recycle prepares the next one, in between).
        return WorkerPool(self.spec, concurrency=1, keep_spare=False)

    async def recycle(self) -> dict[str, Any]:
        old, self.pool = self.pool, self._pool()
        self.front.pool = self.pool
        await old.close()
        spare = await self.pool.prepare()  # with SnapStart: the snapshot, taken
        if spare is None:
            return {"ok": True}
        return {"ok": True, "pid": spare.pid, "init_ms": spare.init_ms}

    async def stop(self) -> None:
        """Stop the workers, then every connection still open (the client's kept-alive)."""
        await self.pool.close()
        current = asyncio.current_task()
        tasks = [task for task in asyncio.all_tasks() if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _serve(function: LocalFunction, snap_start: bool) -> _Emulator:
    prefer_latency()  # as make dev's front does, in the thread that serves
    emulator = _Emulator(function, snap_start)
    emulator.server = await serve(emulator.handle, "127.0.0.1", 0)
    emulator.front.port = int(emulator.server.sockets[0].getsockname()[1])
    return emulator


def main() -> None:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    args = sys.argv[1:]
    snap_start = "--snap-start" in args
    paths = [arg for arg in args if arg != "--snap-start"]
    template = Path(paths[0]) if paths else find_template()
    with local_function(template) as function:
        serving = _serve(function, snap_start)
        emulator = asyncio.run_coroutine_threadsafe(serving, loop).result(30)
        logs = _capture_function_logs()

        def handle(command: dict[str, Any]) -> Any:
            if command.get("recycle"):
                return asyncio.run_coroutine_threadsafe(emulator.recycle(), loop).result(60)
            if "ttft" in command:
                return {"ttft_ms": logs.wait_for(str(command["ttft"]))}
            return {"error": f"unknown command {command!r}"}

        try:
            serve_commands({"port": emulator.front.port}, handle)
        finally:
            if emulator.server is not None:
                emulator.server.close()
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(emulator.stop(), loop).result(30)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)


if __name__ == "__main__":
    main()
