"""Load on loopback: 64 concurrent streams through ``make dev``'s emulator (function URL
front, Runtime API emulators, 64 worker processes running the real wrapper, loop and
function), each with its own prompt, every one reassembled byte-exact, none lost.

The workers are started first, half at a time: on a 2-core machine 64 simultaneous cold
starts take about 9 s, close to the 10 s that Lambda (and the emulator) allow an init.
The measured wave then sends all 64 requests at once. The client runs in a process of its
own (:mod:`tests.e2e.load_driver`); the figures are printed (``pytest -s`` shows them)::

    .venv/bin/python -m pytest -s tests/e2e/test_load.py
"""

from __future__ import annotations

import base64
import json
import statistics
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from tests.e2e.emulator import ROOT, Emulator, running_emulator
from tests.protocols.sse_reader import read_json_events

# 64 cold starts take most of the 10 s init limit on 2 cores: never beside other tests.
pytestmark = [pytest.mark.e2e, pytest.mark.serial]

STREAMS = 64
DELAY_MS = 50
WORDS = 40  # 40 pieces x 50 ms: each stream lasts about 2 s, so that all 64 overlap
DRIVER_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def load_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    log = tmp_path_factory.mktemp("load-emulator") / "dev.log"
    env = {"LLMRELAY_ECHO_DELAY_MS": str(DELAY_MS), "LLMRELAY_DEV_CONCURRENCY": str(STREAMS)}
    # Without durable streams: 64 cold starts are near the 10 s init limit on 2 cores, and each
    # worker's first DynamoDB write (boto3's import, moto's answer) would take CPU from the
    # others' inits. Durable streams under load: tests/e2e/test_durable.py (20 at once).
    with running_emulator(log, env, ["--no-durable"]) as running:
        yield running


@dataclass(frozen=True)
class Stream:
    """One stream as the driver saw it (times in seconds after its request was sent)."""

    prompt: str
    status: int
    worker: str
    body: bytes
    first_text_s: float | None
    end_s: float

    @classmethod
    def of(cls, record: dict[str, Any]) -> Stream:
        body = base64.b64decode(record["body"])
        fields = ("prompt", "status", "worker", "first_text_s", "end_s")
        return cls(body=body, **{name: record[name] for name in fields})

    @property
    def pid(self) -> str:
        return self.worker.partition(";")[0]

    def assert_exact(self) -> None:
        """A complete answer (``meta``, deltas, ``done``) whose text is the prompt, byte
        for byte."""
        assert self.status == 200, self.body[:200]
        events = read_json_events(self.body)
        names = [name for name, _ in events]
        assert names[0] == "meta"
        assert names[-1] == "done", names[-3:]
        assert set(names[1:-1]) == {"delta"}
        text = "".join(data["text"] for name, data in events if name == "delta")
        assert text.encode() == self.prompt.encode()


def drive(url: str) -> dict[str, Any]:
    """The driver's document (see :mod:`tests.e2e.load_driver`); it is killed if it
    outlives ``DRIVER_TIMEOUT_S``."""
    command = [sys.executable, "-m", "tests.e2e.load_driver", url, str(STREAMS), str(WORDS)]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, timeout=DRIVER_TIMEOUT_S, check=False
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def peak_streaming(streams: Sequence[Stream]) -> int:
    """The most streams that were between their first text and their end at once."""
    edges = [(s.first_text_s or s.end_s, 1) for s in streams] + [(s.end_s, -1) for s in streams]
    peak = current = 0
    for _, step in sorted(edges):
        current += step
        peak = max(peak, current)
    return peak


def percentile_ms(values: Sequence[float], percent: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1] * 1000


def report(streams: Sequence[Stream], total_s: float, warm_up_s: float) -> str:
    first = [s.first_text_s for s in streams if s.first_text_s is not None]
    ends = [s.end_s for s in streams]
    body_bytes = sum(len(s.body) for s in streams)
    text_bytes = sum(len(s.prompt.encode()) for s in streams)
    cold = sum("cold" in s.worker for s in streams)
    return "\n".join(
        [
            f"load: {len(streams)} concurrent streams through llmrelay dev "
            f"(concurrency {STREAMS}, echo {DELAY_MS} ms/piece, {WORDS} pieces each)",
            f"  workers started in {warm_up_s:.1f} s (half at a time); measured wave: {cold} cold",
            f"  total {total_s:.2f} s; all byte-exact, none lost; "
            f"{len({s.pid for s in streams})} distinct workers; "
            f"peak {peak_streaming(streams)} streaming at once",
            f"  time to first delta: p50 {percentile_ms(first, 50):.0f} ms, "
            f"p99 {percentile_ms(first, 99):.0f} ms; "
            f"time to last byte: p50 {percentile_ms(ends, 50):.0f} ms, "
            f"p99 {percentile_ms(ends, 99):.0f} ms",
            f"  bytes: {body_bytes} received ({text_bytes} of text), "
            f"{body_bytes / total_s / 1024:.0f} KiB/s",
        ]
    )


def test_64_concurrent_streams_arrive_byte_exact(load_emulator: Emulator) -> None:
    document = drive(load_emulator.url)
    warm_up = [Stream.of(record) for record in document["warm_up"]]
    measured = [Stream.of(record) for record in document["measured"]]
    assert (len(warm_up), len(measured)) == (STREAMS, STREAMS)
    for stream in [*warm_up, *measured]:
        stream.assert_exact()
    print("\n" + report(measured, document["total_s"], document["warm_up_s"]))
    # A worker runs one invocation at a time and the pool hands out the worker released
    # last: had any stream ended before the last one was leased a worker, that one would
    # have reused it. 64 distinct workers: all 64 invocations ran at once.
    assert len({stream.pid for stream in measured}) == STREAMS
