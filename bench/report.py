"""The results as a markdown table (and a JSON document), with ratios and the targets."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from bench.cold import ColdFigures, Start
from bench.cost import CostFigures
from bench.layer import LayerSize
from bench.restore import RestoreFigures
from bench.scenarios import Run, StackFigures
from bench.stats import median

__all__ = ["Results", "markdown", "to_json"]

# Targets of issue 6 (this machine): added TTFB, added per chunk, cold start above floor.
TARGET_TTFB_MS = 2.0
TARGET_CHUNK_US = 50.0
TARGET_COLD_MS = 150.0
# Targets of issue 13: restored within this of a warm request; chunks/s against the SDK's;
# the function's CPU per chunk against FastAPI's.
TARGET_RESTORE_OVER_WARM_MS = 100.0
TARGET_CHUNKS_RATIO = 0.8
TARGET_CPU_RATIO = 0.5
_TIMES = "\u00d7"  # the multiplication sign


@dataclass
class Results:
    full: Run
    paced: Run | None
    cold: dict[str, ColdFigures] | None
    fastapi_cold: list[Start] | None
    layer: LayerSize | str | None
    command: str
    cost: CostFigures | None = None
    restore: dict[str, RestoreFigures] | None = None


def _num(value: float, digits: int) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.{digits}f}"


def _ratio(ours: float, theirs: float) -> str:
    if math.isnan(ours) or math.isnan(theirs) or theirs <= 0:
        return "—"
    return f"{ours / theirs:.2f}\u00d7"  # the multiplication sign


def _row(name: str, values: tuple[float, float, float], unit: str, digits: int) -> str:
    a, b, c = values
    cells = [f"{_num(v, digits)} {unit}".strip() for v in values]
    return f"| {name} | {' | '.join(cells)} | {_ratio(b, a)} | {_ratio(b, c)} |"


def _signed(value: float, digits: int) -> str:
    return "n/a" if math.isnan(value) else f"{value:+,.{digits}f}"


def _added(name: str, values: tuple[float, float, float], unit: str, digits: int) -> str:
    a, b, c = values
    added_b, added_c = b - a, c - a
    cells = ["—", f"{_signed(added_b, digits)} {unit}", f"{_signed(added_c, digits)} {unit}"]
    return f"| {name} | {' | '.join(cells)} | — | {_ratio(added_b, added_c)} |"


def _ours(name: str, value: float, unit: str, digits: int) -> str:
    return f"| {name} | — | {_num(value, digits)} {unit} | — | — | — |"


def _split_rows(run: Run) -> list[str]:
    """llmrelay's time to first delta, split: the function's own (its log line) and the
    local emulators' (function URL front and Runtime API, AWS's own in production)."""
    ours = run.stacks["llmrelay"]
    if not ours.inside_ms:
        return []
    sdk = run.stacks["sdk"].ttfb_ms(50)
    return [
        _ours("↳ llmrelay function's own time to first delta p50", ours.inside_ttft_ms(), "ms", 2),
        _ours("↳ of which added by the function p50", ours.inside_ttft_ms() - sdk, "ms", 2),
        _ours("↳ local emulator's share p50 (front + Runtime API)", ours.outside_ms_p50(), "ms", 2),
    ]


def _three(run: Run, read: Any) -> tuple[float, float, float]:
    stacks: Mapping[str, StackFigures] = run.stacks
    return read(stacks["sdk"]), read(stacks["llmrelay"]), read(stacks["fastapi"])


_HEAD = (
    "| | SDK direct (a) | llmrelay (b) | FastAPI + sse-starlette (c) "
    "| llmrelay ÷ SDK | llmrelay ÷ FastAPI |\n|---|---:|---:|---:|---:|---:|"
)


def _warm_rows(run: Run) -> list[str]:
    ttfb50, ttfb99 = _three(run, lambda s: s.ttfb_ms(50)), _three(run, lambda s: s.ttfb_ms(99))
    rows = [
        _row("time to first delta p50", ttfb50, "ms", 2),
        _row("time to first delta p99", ttfb99, "ms", 2),
        _added("added to first delta p50", ttfb50, "ms", 2),
        _added("added to first delta p99", ttfb99, "ms", 2),
        *_split_rows(run),
    ]
    if run.plan.delay_ms:
        latency = _three(run, lambda s: s.latency_us())
        rows += [
            _row("latency per chunk p50 (upstream write → client read)", latency, "µs", 0),
            _added("added latency per chunk p50", latency, "µs", 0),
        ]
    else:
        per_chunk = _three(run, lambda s: s.per_chunk_us())
        rows += [
            _row("time per chunk p50", per_chunk, "µs", 1),
            _added("added per chunk p50", per_chunk, "µs", 1),
            _row("chunks/s through one stream", _three(run, lambda s: s.chunks_per_s()), "", 0),
        ]
    return rows


def _cold_rows(results: Results) -> list[str]:
    assert results.cold is not None
    rows = [
        "| provider | floor: SDK + boto3, fresh process | llmrelay, fresh worker | added "
        "| CPU time: floor → llmrelay | peak RSS: floor → llmrelay |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for provider, figures in results.cold.items():
        s = figures.summary()
        rows.append(
            f"| {provider} | {s['floor_ms']:,.0f} ms | {s['llmrelay_ms']:,.0f} ms "
            f"| {_signed(s['added_ms'], 0)} ms "
            f"| {s['floor_cpu_ms']:,.0f} → {s['llmrelay_cpu_ms']:,.0f} ms "
            f"({_signed(s['added_cpu_ms'], 0)}) "
            f"| {s['floor_rss_mb']:.0f} → {s['llmrelay_rss_mb']:.0f} MB |"
        )
    return rows


def _cost_rows(cost: CostFigures) -> list[str]:
    cpu = tuple(cost.cpu_ms_per_1000(stack) for stack in ("sdk", "llmrelay", "fastapi"))
    rss = (cost.rss_mb["sdk"], cost.rss_mb["llmrelay"], cost.rss_mb["fastapi"])
    return [
        _HEAD.replace("llmrelay (b)", "llmrelay function (b)"),
        _row("CPU time per 1,000 chunks", (cpu[0], cpu[1], cpu[2]), "ms", 1),
        _row("peak RSS", (rss[0], rss[1], rss[2]), "MB", 0),
        _ours(
            "↳ the local emulator's CPU per 1,000 chunks (front + Runtime API)",
            cost.emulator_ms_per_1000(),
            "ms",
            1,
        ),
    ]


def _restore_rows(results: Results) -> list[str]:
    assert results.restore is not None
    rows = [
        "| provider | floor: SDK + boto3, fresh process | llmrelay on demand, fresh worker "
        "| llmrelay restored | warm, same worker | restored \u2212 warm | CPU after the restore "
        "| init before the snapshot |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for provider, figures in results.restore.items():
        r = figures.summary()
        cold = results.cold.get(provider) if results.cold else None
        floor = _num(cold.summary()["floor_ms"], 0) if cold else "n/a"
        ours = _num(cold.summary()["llmrelay_ms"], 0) if cold else "n/a"
        rows.append(
            f"| {provider} | {floor} ms | {ours} ms | {r['restored_ms']:,.1f} ms "
            f"| {r['warm_ms']:,.1f} ms | {_signed(r['over_warm_ms'], 1)} ms "
            f"| {r['cpu_ms']:,.0f} ms | {r['snapshot_init_ms']:,.0f} ms |"
        )
    return rows


def _fastapi_cold(starts: list[Start]) -> dict[str, float]:
    return {
        "ms": median([s.ms for s in starts]),
        "cpu_ms": median([s.cpu_ms for s in starts]),
        "rss_mb": median([s.rss_mb for s in starts]),
    }


def _targets(results: Results) -> list[str]:
    full = results.full.stacks
    ttfb = full["llmrelay"].ttfb_ms(50) - full["sdk"].ttfb_ms(50)
    chunk = full["llmrelay"].per_chunk_us() - full["sdk"].per_chunk_us()
    lines = [
        f"- warm added time to first delta p50 < {TARGET_TTFB_MS:g} ms: "
        f"{'met' if ttfb < TARGET_TTFB_MS else 'MISSED'} ({ttfb:+.2f} ms)",
        f"- added time per chunk p50 < {TARGET_CHUNK_US:g} µs: "
        f"{'met' if chunk < TARGET_CHUNK_US else 'MISSED'} ({chunk:+.1f} µs)",
    ]
    if results.cold is not None:
        for provider, figures in results.cold.items():
            added = figures.summary()["added_ms"]
            verdict = "met" if added <= TARGET_COLD_MS else "MISSED"
            lines.append(
                f"- cold start {provider} ≤ {TARGET_COLD_MS:g} ms above its floor: "
                f"{verdict} ({added:+.0f} ms)"
            )
    lines += _issue13_targets(results)
    slower = [row for row in _versus_fastapi(results) if not row[1]]
    verdict = "met" if not slower else "MISSED on " + ", ".join(name for name, _ in slower)
    lines.append(f"- llmrelay faster than FastAPI on every row: {verdict}")
    return lines


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _issue13_targets(results: Results) -> list[str]:
    lines: list[str] = []
    full = results.full.stacks
    sdk, ours, theirs = full["sdk"], full["llmrelay"], full["fastapi"]
    ours_ttfb = ours.ttfb_ms(50) - sdk.ttfb_ms(50)
    theirs_ttfb = theirs.ttfb_ms(50) - sdk.ttfb_ms(50)
    lines.append(
        f"- added time to first delta p50 ≤ FastAPI's: {_verdict(ours_ttfb <= theirs_ttfb)} "
        f"({ours_ttfb:+.2f} ms against {theirs_ttfb:+.2f} ms)"
    )
    ratio = ours.chunks_per_s() / sdk.chunks_per_s()
    lines.append(
        f"- chunks/s ≥ {TARGET_CHUNKS_RATIO:g}{_TIMES} the SDK's: "
        f"{_verdict(ratio >= TARGET_CHUNKS_RATIO)} ({ratio:.2f}{_TIMES})"
    )
    paced = results.paced
    if paced is not None:
        p = paced.stacks
        added = p["llmrelay"].latency_us() - p["sdk"].latency_us()
        theirs_added = p["fastapi"].latency_us() - p["sdk"].latency_us()
        lines.append(
            f"- added paced latency per chunk ≤ FastAPI's: {_verdict(added <= theirs_added)} "
            f"({added:+.0f} µs against {theirs_added:+.0f} µs)"
        )
    if results.cost is not None:
        cost = results.cost
        cpu = cost.cpu_ms_per_1000("llmrelay") / cost.cpu_ms_per_1000("fastapi")
        lines.append(
            f"- the function's CPU per chunk ≤ {TARGET_CPU_RATIO:g}{_TIMES} FastAPI's: "
            f"{_verdict(cpu <= TARGET_CPU_RATIO)} ({cpu:.2f}{_TIMES})"
        )
    for provider, figures in (results.restore or {}).items():
        over = figures.summary()["over_warm_ms"]
        lines.append(
            f"- restored {provider} within {TARGET_RESTORE_OVER_WARM_MS:g} ms of a warm request: "
            f"{_verdict(over <= TARGET_RESTORE_OVER_WARM_MS)} ({over:+.1f} ms)"
        )
    return lines


def _versus_fastapi(results: Results) -> list[tuple[str, bool]]:
    checks: list[tuple[str, bool]] = []
    for label, run in (("full speed", results.full), ("paced", results.paced)):
        if run is None:
            continue
        ours, theirs = run.stacks["llmrelay"], run.stacks["fastapi"]
        checks.append((f"{label} TTFB p50", ours.ttfb_ms(50) < theirs.ttfb_ms(50)))
        checks.append((f"{label} TTFB p99", ours.ttfb_ms(99) < theirs.ttfb_ms(99)))
        if run.plan.delay_ms:
            checks.append((f"{label} latency per chunk", ours.latency_us() < theirs.latency_us()))
        else:
            checks.append((f"{label} time per chunk", ours.per_chunk_us() < theirs.per_chunk_us()))
    if results.cold is not None and results.fastapi_cold is not None:
        ours_cold = results.cold["openai"].summary()["llmrelay_ms"]
        checks.append(
            ("cold start (openai)", ours_cold < _fastapi_cold(results.fastapi_cold)["ms"])
        )
    return checks


def markdown(results: Results) -> str:
    full = results.full.plan
    parts = [
        f"`{results.command}`",
        "",
        f"**Warm, full speed**: {full.tokens} tokens as fast as the fake upstream writes them, "
        f"{full.requests} requests per stack after {full.warmup} of warm-up, interleaved.",
        "",
        _HEAD,
        *_warm_rows(results.full),
    ]
    if results.paced is not None:
        paced = results.paced.plan
        parts += [
            "",
            f"**Warm, realistic pace**: {paced.tokens} tokens {paced.delay_ms:g} ms apart, "
            f"{paced.requests} requests per stack.",
            "",
            _HEAD,
            *_warm_rows(results.paced),
        ]
    if results.cold is not None:
        rounds = len(next(iter(results.cold.values())).llmrelay)
        parts += [
            "",
            f"**Cold start to first delta** (median of {rounds}; key from Secrets Manager "
            "(moto) with boto3; the floor is the same SDK in a fresh process)",
            "",
            *_cold_rows(results),
        ]
        if results.fastapi_cold is not None:
            fastapi = _fastapi_cold(results.fastapi_cold)
            parts += [
                "",
                f"FastAPI + uvicorn, fresh process, key fetched with boto3 at start-up (openai): "
                f"{fastapi['ms']:,.0f} ms to the first delta, {fastapi['cpu_ms']:,.0f} ms of CPU, "
                f"{fastapi['rss_mb']:.0f} MB peak RSS.",
            ]
    if results.cost is not None:
        cost = results.cost
        parts += [
            "",
            f"**CPU per chunk and memory**: {cost.requests} requests of {cost.tokens} tokens per "
            "stack at full speed, interleaved; CPU time of every thread of the process doing the "
            "work (the SDK's own process; llmrelay's worker: runtime, gateway, provider, encoder; "
            "uvicorn's process), from the scheduler's accounting.",
            "",
            *_cost_rows(cost),
        ]
    if results.restore is not None:
        rounds = len(next(iter(results.restore.values())).starts)
        parts += [
            "",
            f"**SnapStart, simulated restore** (median of {rounds}): a worker initialised "
            "ahead of time (before-snapshot hooks: the SDKs imported and warmed), then restored "
            "by the request (after-restore hooks, secret read, upstream connected), to its first "
            "delta; a real restore also pages the snapshot in (`Restore Duration`).",
            "",
            *_restore_rows(results),
        ]
    if isinstance(results.layer, LayerSize):
        layer = results.layer
        parts += [
            "",
            f"**Layer** (`make -C layers/llmrelay build-LLMRelayLayer`, arm64): "
            f"{layer.unzipped_mb:.1f} MB unzipped, {layer.zipped_mb:.1f} MB zipped, "
            f"{layer.files:,} files (Lambda's limit: 250 MB unzipped).",
        ]
    elif isinstance(results.layer, str):
        parts += ["", f"**Layer**: {results.layer}"]
    parts += ["", "**Targets**", "", *_targets(results)]
    return "\n".join(parts) + "\n"


def _run_json(run: Run) -> dict[str, Any]:
    return {
        "plan": asdict(run.plan),
        "stacks": {
            name: {
                "ttfb_ms_p50": s.ttfb_ms(50),
                "ttfb_ms_p99": s.ttfb_ms(99),
                "per_chunk_us_p50": s.per_chunk_us(),
                "chunks_per_s_p50": s.chunks_per_s(),
                "latency_us_p50": s.latency_us() if s.latencies_us else None,
                "function_ttft_ms_p50": s.inside_ttft_ms() if s.inside_ms else None,
                "emulator_share_ms_p50": s.outside_ms_p50() if s.outside_ms else None,
            }
            for name, s in run.stacks.items()
        },
    }


def to_json(results: Results) -> dict[str, Any]:
    document: dict[str, Any] = {"command": results.command, "full": _run_json(results.full)}
    if results.paced is not None:
        document["paced"] = _run_json(results.paced)
    if results.cold is not None:
        document["cold"] = {p: f.summary() for p, f in results.cold.items()}
    if results.fastapi_cold is not None:
        document["fastapi_cold"] = _fastapi_cold(results.fastapi_cold)
    if results.cost is not None:
        cost = results.cost
        document["cost"] = {
            "cpu_ms_per_1000_chunks": {s: cost.cpu_ms_per_1000(s) for s in cost.cpu_ns},
            "emulator_cpu_ms_per_1000_chunks": cost.emulator_ms_per_1000(),
            "peak_rss_mb": cost.rss_mb,
        }
    if results.restore is not None:
        document["restore"] = {p: f.summary() for p, f in results.restore.items()}
    if isinstance(results.layer, LayerSize):
        document["layer"] = asdict(results.layer)
    document["targets"] = _targets(results)
    return document
