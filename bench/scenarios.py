"""The warm measurements: the same upstream stream read by (a) the SDK, (b) llmrelay and
(c) FastAPI, one request at a time, the three interleaved round after round so that the
machine's noise falls on all three alike. Every stack is warmed up before it is measured.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from bench.child import Child
from bench.client import StreamTiming
from bench.stats import median, percentile

__all__ = ["STACKS", "Run", "StackFigures", "WarmPlan", "measure"]

STACKS = ("sdk", "llmrelay", "fastapi")
Reader = Callable[[], Awaitable[StreamTiming]]


@dataclass(frozen=True)
class WarmPlan:
    tokens: int
    requests: int
    delay_ms: float = 0.0
    warmup: int = 5


@dataclass
class StackFigures:
    """One stack's streams, and the statistics the report prints."""

    timings: list[StreamTiming] = field(default_factory=list)
    latencies_us: list[float] = field(default_factory=list)  # upstream write -> client read
    inside_ms: list[float] = field(default_factory=list)  # the function's own ttft (llmrelay)
    outside_ms: list[float] = field(default_factory=list)  # client ttfb less the function's

    def ttfb_ms(self, q: float) -> float:
        return percentile([t.ttfb_ms for t in self.timings], q)

    def per_chunk_us(self) -> float:
        return median([t.per_chunk_us for t in self.timings])

    def chunks_per_s(self) -> float:
        return median([t.chunks_per_s for t in self.timings])

    def latency_us(self) -> float:
        return median(self.latencies_us)

    def inside_ttft_ms(self) -> float:
        return median(self.inside_ms)

    def outside_ms_p50(self) -> float:
        return median(self.outside_ms)


@dataclass
class Run:
    plan: WarmPlan
    stacks: dict[str, StackFigures]


def _check(stack: str, timing: StreamTiming, tokens: int) -> None:
    if timing.status != 200 or len(timing.arrivals) != tokens:
        raise RuntimeError(
            f"{stack}: HTTP {timing.status} with {len(timing.arrivals)} of {tokens} deltas"
        )


async def measure(
    plan: WarmPlan, readers: Mapping[str, Reader], upstream: Child, emulator: Child | None = None
) -> Run:
    """Warm every stack up, then ``plan.requests`` rounds of one request per stack. With
    ``emulator``, llmrelay's times to first delta are split into the function's own (from
    its log line) and the rest (the local function URL and Runtime API emulators)."""
    upstream.call(reply={"tokens": plan.tokens, "delay_ms": plan.delay_ms})
    for stack, read in readers.items():
        for _ in range(plan.warmup):
            _check(stack, await read(), plan.tokens)
    figures = {stack: StackFigures() for stack in readers}
    for _ in range(plan.requests):
        for stack, read in readers.items():
            timing = await read()
            _check(stack, timing, plan.tokens)
            figures[stack].timings.append(timing)
            if plan.delay_ms:
                sends = upstream.call(sends=True)["sends"]
                figures[stack].latencies_us.extend(_latencies(sends, timing.arrivals))
            if stack == "llmrelay" and emulator is not None:
                _split(figures[stack], timing, emulator)
            await asyncio.sleep(0)
    return Run(plan, figures)


def _latencies(sends: Sequence[int], arrivals: Sequence[int]) -> list[float]:
    """Each piece's time from the upstream's write to the client's read. The OpenAI fake
    writes a role chunk first, so piece ``i`` is its event ``i + 1``."""
    return [(arrival - send) / 1e3 for send, arrival in zip(sends[1:], arrivals, strict=False)]


def _split(figures: StackFigures, timing: StreamTiming, emulator: Child) -> None:
    request_id = timing.headers.get("x-amzn-requestid", "")
    inside = emulator.call(ttft=request_id)["ttft_ms"] if request_id else None
    if inside is not None:
        figures.inside_ms.append(inside)
        figures.outside_ms.append(timing.ttfb_ms - inside)
