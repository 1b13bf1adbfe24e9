"""Cold starts per provider: llmrelay's fresh worker against the floor, a fresh process
that fetches its key with boto3 and streams with the same SDK (:mod:`bench.cold_floor`).

llmrelay's figure runs from the client's request to its first text delta, through the
emulator, which spawns the worker (the exec wrapper, the runtime loop, ``app.py``) on
demand, as Lambda does; the floor's from spawning its process to its first text delta.
"""

from __future__ import annotations

import compileall
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bench.child import REPO, Child, child_environment
from bench.client import SseClient, StreamTiming
from bench.stats import median

__all__ = ["MODELS", "ColdFigures", "Start", "measure_cold", "measure_fastapi_cold"]

MODELS = {
    "openai": "openai/gpt-4o-mini",
    "anthropic": "anthropic/claude-sonnet-4-5",
    "huggingface": "huggingface/meta-llama/Llama-3.1-8B-Instruct",
    "bedrock": "bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0",
    "echo": "echo/echo",
}


@dataclass
class Start:
    """One cold start: wall time to the first text delta, the process's CPU time by then
    (a figure the machine's other load disturbs far less) and its peak RSS."""

    ms: float
    cpu_ms: float
    rss_mb: float


@dataclass
class ColdFigures:
    llmrelay: list[Start] = field(default_factory=list)
    floor: list[Start] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        ours, floor = self.llmrelay, self.floor
        return {
            "llmrelay_ms": median([s.ms for s in ours]),
            "floor_ms": median([s.ms for s in floor]),
            "added_ms": median([s.ms for s in ours]) - median([s.ms for s in floor]),
            "llmrelay_cpu_ms": median([s.cpu_ms for s in ours]),
            "floor_cpu_ms": median([s.cpu_ms for s in floor]),
            "added_cpu_ms": median([s.cpu_ms for s in ours]) - median([s.cpu_ms for s in floor]),
            "llmrelay_rss_mb": median([s.rss_mb for s in ours]),
            "floor_rss_mb": median([s.rss_mb for s in floor]),
        }


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return math.nan


_TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def _cpu_ms(pid: int) -> float:
    """User plus system CPU time of ``pid`` so far (the wrapper's too: it execs Python)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) * _TICK_MS


async def _llmrelay_cold(emulator: Child, port: int, model: str) -> Start:
    emulator.call(recycle=True)
    client = SseClient("127.0.0.1", port)
    cpu: list[float] = []

    def at_first(timing: StreamTiming) -> None:  # the worker's pid came with the head
        cpu.append(_cpu_ms(_worker_pid(timing.headers)))

    try:
        timing = await client.chat(model, on_first=at_first)
    finally:
        await client.close()
    worker = timing.headers.get("x-llmrelay-worker", "")
    if timing.status != 200 or not timing.arrivals or "cold" not in worker:
        raise RuntimeError(f"cold {model}: HTTP {timing.status}, worker {worker!r}")
    return Start(timing.ttfb_ms, cpu[0], _peak_rss_mb(_worker_pid(timing.headers)))


def _cpu_into(found: list[float], pid: int) -> Callable[[StreamTiming], None]:
    return lambda _: found.append(_cpu_ms(pid))


def _worker_pid(headers: Mapping[str, str]) -> int:
    return int(headers.get("x-llmrelay-worker", "").split(";")[0].removeprefix("pid="))


def _floor_cold(provider: str, env: Mapping[str, str]) -> Start:
    command = [sys.executable, "-m", "bench.cold_floor", provider]
    environment = child_environment(env)
    began = time.monotonic_ns()
    done = subprocess.run(
        command, cwd=REPO, env=environment, capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"cold floor {provider} failed: {done.stderr[-2000:]}")
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return Start((answer["first"] - began) / 1e6, answer["cpu_ms"], answer["rss_kb"] / 1024)


def _compile_sources() -> None:
    """Bytecode for the function and the layer's package, as the built layer ships it
    (Lambda's /opt is read-only: without .pyc files every cold start compiles them)."""
    for directory in (REPO / "layers" / "llmrelay" / "llmrelay", REPO / "functions" / "chat"):
        compileall.compile_dir(directory, quiet=1)


async def measure_cold(
    emulator: Child, port: int, env: Mapping[str, str], rounds: int
) -> dict[str, ColdFigures]:
    """``rounds`` cold starts per provider for each side, interleaved."""
    _compile_sources()
    figures = {provider: ColdFigures() for provider in MODELS}
    for _ in range(rounds):
        for provider, model in MODELS.items():
            figures[provider].llmrelay.append(await _llmrelay_cold(emulator, port, model))
            figures[provider].floor.append(_floor_cold(provider, env))
    emulator.call(recycle=True)
    return figures


async def measure_fastapi_cold(env: Mapping[str, str], rounds: int) -> list[Start]:
    """FastAPI + uvicorn from spawning its process (key fetched at start-up, as the app does)
    to the first text delta of its first request."""
    starts: list[Start] = []
    for _ in range(rounds):
        began = time.monotonic_ns()
        with Child("bench.fastapi_relay", env=env) as relay:
            client = SseClient("127.0.0.1", int(relay.ready["port"]))
            cpu: list[float] = []
            try:
                timing = await client.chat(MODELS["openai"], on_first=_cpu_into(cpu, relay.pid))
            finally:
                await client.close()
            if timing.status != 200 or not timing.arrivals:
                raise RuntimeError(f"cold FastAPI: HTTP {timing.status}")
            ms = (timing.arrivals[0] - began) / 1e6
            starts.append(Start(ms, cpu[0], _peak_rss_mb(relay.pid)))
    return starts
