"""A simulated SnapStart restore, to the first text delta, next to the on-demand cold start.

The emulator runs with ``--snap-start``: each worker is initialised ahead of time as Lambda
initialises a version it publishes (the handler imported, llmrelay's before-snapshot hooks
run: the configured SDKs imported and warmed) and waits in ``/restore/next``. The request then
"restores" it: the after-restore hooks run (secrets and clients dropped, generators reseeded),
the runtime asks for the invocation, reads the secret, connects upstream and streams. The
figure runs from the client's request to its first text delta; the same worker's next request
(warm) is measured right after, for the difference.

What it leaves out: a real restore also pages the snapshot's memory in from Lambda's cache
(``Restore Duration`` in the ``REPORT`` line), which no local process can imitate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.child import Child
from bench.client import SseClient, StreamTiming
from bench.cold import MODELS
from bench.proc import cpu_ns, peak_rss_mb
from bench.stats import median

__all__ = ["RESTORED", "Restore", "RestoreFigures", "measure_restore", "snapshot_environment"]

RESTORED = ("openai", "anthropic")


@dataclass
class Restore:
    ms: float  # request to first delta, restored
    warm_ms: float  # the same worker's next request
    cpu_ms: float  # the worker's CPU from the restore to the first delta
    init_ms: float  # the init before the snapshot (what publishing pays)
    rss_mb: float


@dataclass
class RestoreFigures:
    starts: list[Restore] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        s = self.starts
        return {
            "restored_ms": median([r.ms for r in s]),
            "warm_ms": median([r.warm_ms for r in s]),
            "over_warm_ms": median([r.ms - r.warm_ms for r in s]),
            "cpu_ms": median([r.cpu_ms for r in s]),
            "snapshot_init_ms": median([r.init_ms for r in s]),
            "rss_mb": median([r.rss_mb for r in s]),
        }


def snapshot_environment(env: dict[str, str]) -> dict[str, str]:
    """The bench's environment, configured for the restored providers (which the warm-up
    before the snapshot reads)."""
    return {**env, "LLMRELAY_MODELS": ",".join(MODELS[p] for p in RESTORED)}


def _checked(timing: StreamTiming, what: str) -> StreamTiming:
    if timing.status != 200 or not timing.arrivals:
        raise RuntimeError(f"{what}: HTTP {timing.status}")
    return timing


async def _restore(emulator: Child, model: str) -> Restore:
    spare = emulator.call(recycle=True)
    pid = int(spare["pid"])
    before = cpu_ns(pid)
    client = SseClient("127.0.0.1", int(emulator.ready["port"]))
    cpu: list[int] = []
    try:
        restored = _checked(
            await client.chat(model, on_first=lambda _: cpu.append(cpu_ns(pid))), model
        )
        warm = _checked(await client.chat(model), model)
    finally:
        await client.close()
    return Restore(
        restored.ttfb_ms, warm.ttfb_ms, (cpu[0] - before) / 1e6, spare["init_ms"], peak_rss_mb(pid)
    )


async def measure_restore(emulator: Child, rounds: int) -> dict[str, RestoreFigures]:
    """``rounds`` restores per provider, interleaved."""
    figures = {provider: RestoreFigures() for provider in RESTORED}
    for _ in range(rounds):
        for provider in RESTORED:
            figures[provider].starts.append(await _restore(emulator, MODELS[provider]))
    emulator.call(recycle=True)
    return figures
