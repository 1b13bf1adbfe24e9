"""``python -m bench.worker_rss [--streams N] [--every K] [--dialect chat|openai]``: the
resident memory of one warm worker (and of the front) over N streams through the local
emulator, as ``make dev`` runs them: the real exec wrapper, runtime loop and
``functions/chat/app.py``, echo at full speed, one stream at a time on one kept-alive
connection.

It prints the RSS every K streams and the growth per stream after the first K (a least
squares slope), for the worker process and for this process (the front). With ``--trace``
the worker's allocations are traced from stream K on (a ``sitecustomize`` on its
``PYTHONPATH`` starts tracemalloc on SIGUSR1 and dumps a snapshot on each): what was
allocated after stream K and still lives at the last, by line. A
measurement, not a test: the figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import signal
import tempfile
import time
import tracemalloc
from pathlib import Path

import httpx

from llmrelay.local.dev import DevOptions, running_gateway
from llmrelay.local.function import find_template, local_function

__all__ = ["main"]

_PAGE = resource.getpagesize()
_BODIES: dict[str, tuple[str, dict[str, object]]] = {
    "chat": ("/chat", {"messages": [{"role": "user", "content": "one two three four five"}]}),
    "openai": (
        "/v1/chat/completions",
        {
            "model": "echo/echo",
            "stream": True,
            "messages": [{"role": "user", "content": "one two three four five"}],
        },
    ),
}


# Loaded by the worker's interpreter at start-up (on its PYTHONPATH, with --trace).
_SITECUSTOMIZE = """
import gc, os, signal, tracemalloc
def _dump(signum, frame):  # the first signal starts tracing: what lives on from then is growth
    if not tracemalloc.is_tracing():
        tracemalloc.start(10)
    if os.environ.get("RSS_TRACE_COLLECT"):
        gc.collect()  # cycles not collected yet are garbage, not growth
    tracemalloc.take_snapshot().dump(os.environ["RSS_TRACE_FILE"] + ".tmp")
    os.replace(os.environ["RSS_TRACE_FILE"] + ".tmp", os.environ["RSS_TRACE_FILE"])
signal.signal(signal.SIGUSR1, _dump)
"""


async def _snapshot(pid: int, path: Path) -> tracemalloc.Snapshot:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    os.kill(pid, signal.SIGUSR1)
    for _ in range(600):
        with contextlib.suppress(FileNotFoundError):
            return tracemalloc.Snapshot.load(str(path))
        await asyncio.sleep(0.05)
    raise RuntimeError("the worker wrote no snapshot")


def _report_growth(first: tracemalloc.Snapshot, last: tracemalloc.Snapshot, streams: int) -> None:
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<*>")]
    first, last = first.filter_traces(ignore), last.filter_traces(ignore)
    total = sum(stat.size_diff for stat in last.compare_to(first, "filename"))
    print(f"traced growth over {streams} streams: {total} B ({total / streams:.1f} B/stream)")
    for stat in last.compare_to(first, "traceback")[:8]:
        if stat.size_diff <= 0:
            break
        print(f"  {stat.size_diff:+} B in {stat.count_diff:+} blocks, allocated at:")
        for line in stat.traceback.format(limit=6, most_recent_first=True):
            print(f"    {line}")


def rss_mb(pid: int | None = None) -> float:
    """The resident set of ``pid`` (this process by default), in MB."""
    path = Path(f"/proc/{pid or os.getpid()}/statm")
    return int(path.read_text(encoding="ascii").split()[1]) * _PAGE / 2**20


def slope_bytes(points: list[tuple[int, float]]) -> float:
    """Bytes of growth per stream: the least squares slope of (streams, MB)."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    num = sum((x - mean_x) * (y - mean_y) for x, y in points)
    den = sum((x - mean_x) ** 2 for x, _ in points)
    return num / den * 2**20 if den else 0.0


async def _stream(client: httpx.AsyncClient, url: str, body: dict[str, object]) -> int:
    async with client.stream("POST", url, json=body) as response:
        async for _ in response.aiter_bytes():
            pass
        worker = response.headers.get("x-llmrelay-worker", "pid=0;")
        if response.status_code != 200:
            raise RuntimeError(f"stream answered {response.status_code}")
    return int(worker.split(";")[0].removeprefix("pid="))


async def run(streams: int, every: int, dialect: str, trace: bool, collect: bool) -> None:
    environ = {**os.environ, "LLMRELAY_ECHO_DELAY_MS": "0"}
    site = Path(tempfile.mkdtemp(prefix="worker-rss-"))
    dump = site / "snapshot"
    if trace:
        (site / "sitecustomize.py").write_text(_SITECUSTOMIZE, encoding="utf-8")
        environ["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(site), environ.get("PYTHONPATH")])
        )
        environ["RSS_TRACE_FILE"] = str(dump)
        environ["RSS_TRACE_COLLECT"] = "1" if collect else ""
    path, body = _BODIES[dialect]
    snapshots: list[tracemalloc.Snapshot] = []
    with local_function(find_template(), environ=environ) as function:
        options = DevOptions(port=0, concurrency=1)
        async with (
            running_gateway(function, options) as gateway,
            httpx.AsyncClient(timeout=30) as client,
        ):
            url = f"{gateway.url}{path}"
            pid = await _stream(client, url, body)  # cold start, then warm
            began = time.monotonic()
            worker: list[tuple[int, float]] = [(0, rss_mb(pid))]
            front: list[tuple[int, float]] = [(0, rss_mb())]
            print(f"{'streams':>8} {'worker MB':>10} {'front MB':>9}")
            print(f"{0:>8} {worker[0][1]:>10.2f} {front[0][1]:>9.2f}")
            for done in range(1, streams + 1):
                if await _stream(client, url, body) != pid:
                    raise RuntimeError("the stream went to another worker")
                if done % every == 0:
                    worker.append((done, rss_mb(pid)))
                    front.append((done, rss_mb()))
                    print(f"{done:>8} {worker[-1][1]:>10.2f} {front[-1][1]:>9.2f}")
                    if trace and done in (every, streams):
                        snapshots.append(await _snapshot(pid, dump))
            elapsed = time.monotonic() - began
    print(f"{streams} {dialect} streams in {elapsed:.1f} s ({streams / elapsed:.0f}/s)")
    print(
        f"growth after the first {every}: worker {slope_bytes(worker[1:]):.0f} B/stream, "
        f"front {slope_bytes(front[1:]):.0f} B/stream"
    )
    if len(snapshots) == 2:
        _report_growth(snapshots[0], snapshots[1], streams - every)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.worker_rss")
    parser.add_argument("--streams", type=int, default=10_000)
    parser.add_argument("--every", type=int, default=1_000)
    parser.add_argument("--dialect", choices=sorted(_BODIES), default="chat")
    parser.add_argument("--trace", action="store_true", help="what grew, by line (slower)")
    parser.add_argument(
        "--collect", action="store_true", help="with --trace: gc.collect() before each snapshot"
    )
    args = parser.parse_args(argv)
    asyncio.run(run(args.streams, args.every, args.dialect, args.trace, args.collect))


if __name__ == "__main__":
    main()
