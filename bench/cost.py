"""What a streamed chunk costs in CPU, and each stack's peak memory, measured side by side:
the SDK reading the fake directly (its own process, :mod:`bench.sdk_reader`), llmrelay's
function (the worker process: runtime loop, gateway, provider, encoder) and the FastAPI relay
(uvicorn's process). The local emulator's own CPU (front and Runtime API) is shown apart: on
Lambda that work is AWS's.

CPU time comes from the scheduler's accounting of every thread of each process, read before
the first and after the last of ``requests`` interleaved requests, so it includes whatever a
stack does around its streams (llmrelay's post-response log line and metrics too) and no
other stack's work.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bench.child import Child
from bench.client import SseClient
from bench.cold import MODELS
from bench.proc import cpu_ns, peak_rss_mb

__all__ = ["COST_STACKS", "CostFigures", "measure_cost"]

COST_STACKS = ("sdk", "llmrelay", "fastapi")


@dataclass
class CostFigures:
    tokens: int
    requests: int
    cpu_ns: dict[str, int] = field(default_factory=dict)
    rss_mb: dict[str, float] = field(default_factory=dict)
    emulator_cpu_ns: int = 0

    @property
    def chunks(self) -> int:
        return self.tokens * self.requests

    def cpu_ms_per_1000(self, stack: str) -> float:
        """CPU milliseconds per 1,000 streamed chunks (µs per chunk, the same number)."""
        return self.cpu_ns[stack] / self.chunks / 1000

    def emulator_ms_per_1000(self) -> float:
        return self.emulator_cpu_ns / self.chunks / 1000


def _pid_of(headers: dict[str, str]) -> int:
    return int(headers.get("x-llmrelay-worker", "").split(";")[0].removeprefix("pid="))


async def measure_cost(
    tokens: int, requests: int, upstream: Child, emulator: Child, fastapi: Child, sdk: Child
) -> CostFigures:
    upstream.call(reply={"tokens": tokens, "delay_ms": 0})
    ours = SseClient("127.0.0.1", int(emulator.ready["port"]))
    theirs = SseClient("127.0.0.1", int(fastapi.ready["port"]))
    model = MODELS["openai"]
    name = model.partition("/")[2]
    figures = CostFigures(tokens, requests)
    try:
        worker = _pid_of((await ours.chat(model)).headers)  # warm, and the worker's pid
        await theirs.chat(model)
        sdk.call(read=name)
        pids = {"llmrelay": worker, "fastapi": fastapi.pid, "emulator": emulator.pid}
        before = {stack: cpu_ns(pid) for stack, pid in pids.items()}
        sdk_ns = 0
        for _ in range(requests):
            answer = sdk.call(read=name)
            if answer["deltas"] != tokens:
                raise RuntimeError(f"sdk: {answer['deltas']} of {tokens} deltas")
            sdk_ns += answer["cpu_ns"]
            for stack, client in (("llmrelay", ours), ("fastapi", theirs)):
                timing = await client.chat(model)
                if timing.status != 200 or len(timing.arrivals) != tokens:
                    raise RuntimeError(f"{stack}: HTTP {timing.status}, {len(timing.arrivals)}")
                if stack == "llmrelay" and _pid_of(timing.headers) != worker:
                    raise RuntimeError("llmrelay: the worker changed during the measurement")
        await asyncio.sleep(0.3)  # what a stack does once its last response has left
        after = {stack: cpu_ns(pid) for stack, pid in pids.items()}
    finally:
        await ours.close()
        await theirs.close()
    figures.cpu_ns = {
        "sdk": sdk_ns,
        "llmrelay": after["llmrelay"] - before["llmrelay"],
        "fastapi": after["fastapi"] - before["fastapi"],
    }
    figures.emulator_cpu_ns = after["emulator"] - before["emulator"]
    figures.rss_mb = {
        "sdk": float(sdk.call(rss=True)["rss_mb"]),
        "llmrelay": peak_rss_mb(worker),
        "fastapi": peak_rss_mb(fastapi.pid),
    }
    return figures
