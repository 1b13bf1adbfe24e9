"""bench.text_path: its warm measurement against the real fakes, the -X importtime reader and
the report (the full before/after run spawns dozens of interpreters: run by hand)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

from bench.text_path import own_import_ms, table
from bench.text_path_child import VARIANTS, measure

from llmrelay.testing import FakeAnthropic, FakeOpenAI, Reply

LAYER = Path(__file__).resolve().parent.parent / "layers" / "llmrelay"


def test_warm_figures_cover_each_provider_and_encoder_and_check_every_chunk() -> None:
    chunks = 7
    pieces = tuple(f"tök{number} " for number in range(chunks))
    with (
        FakeOpenAI(Reply(pieces=pieces)) as openai_long,
        FakeOpenAI(Reply(pieces=("hi",))) as openai_short,
        FakeAnthropic(Reply(pieces=pieces)) as anthropic_long,
        FakeAnthropic(Reply(pieces=("hi",))) as anthropic_short,
    ):
        upstreams = {
            "openai": {"long": openai_long.url, "short": openai_short.url},
            "anthropic": {"long": anthropic_long.url, "short": anthropic_short.url},
        }
        plan = {"chunks": chunks, "warmup": 1, "repeats": 2, "upstreams": upstreams}
        result = measure(plan)
        served = len(openai_long.requests) + len(anthropic_long.requests)
    assert served == 2 * len(VARIANTS) * 3
    names = {f"{p}.{v}" for p in upstreams for v in (*VARIANTS, "request")}
    assert set(result["figures"]) == names
    assert all(value > 0 and math.isfinite(value) for value in result["figures"].values())
    for name, (texts, size) in result["checks"].items():
        assert texts == (1 if name.endswith(".request") else chunks)
        assert (size > 0) == name.endswith((".native", ".openai"))
    assert result["llmrelay"].startswith(str(LAYER))


def test_own_import_time_sums_llmrelay_modules_only() -> None:
    env = {**os.environ, "PYTHONPATH": str(LAYER)}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import llmrelay"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    own = own_import_ms(done.stderr)
    rows = [line.split("|") for line in done.stderr.splitlines() if "| llmrelay" in line]
    top = next(int(row[1]) for row in rows if row[2].strip() == "llmrelay") / 1e3
    assert 0 < own <= top  # part of the package's cumulative time, the SDK-free rest
    assert own_import_ms("import time: self [us] | cumulative | imported package\n") == 0


def test_table_gives_medians_ranges_and_ratios() -> None:
    report = table({"x (ms)": [1.0, 2.0, 3.0]}, {"x (ms)": [2.0, 4.0, 9.0]})
    row = report.splitlines()[2]
    assert row == "| x (ms) | 2.00 [1.00-3.00] | 4.00 [2.00-9.00] | 2.000x | 2.000-3.000 |"
