"""``make venv`` (every target's first step): two runs started at once never build the venv
together, each step prints its time, and neither pip nor the SAM CLI sees the project's
PYTHONPATH. A stand-in ``python`` plays ``venv`` and ``pip`` (and records when each ran), so
the real Makefile and scripts/setup_venv.py run in seconds without a network."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# "-m venv DIR": DIR/bin/python is this script; "-m pip ...": a pause; anything else (the
# setup script itself) runs the real interpreter. Each stand-in step logs its start and end.
STUB = """#!/bin/sh
log() {{ echo "$$ $1 $2 $(date +%s.%N) PYTHONPATH=${{PYTHONPATH:-}}" >> "$STUB_LOG"; }}
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  log start venv; sleep 1; mkdir -p "$3/bin"; cp "$0" "$3/bin/python"; log end venv
elif [ "$1" = "-m" ] && [ "$2" = "pip" ]; then
  log start pip; sleep 0.3; log end pip
else
  exec {python} "$@"
fi
"""


def stand_in(tmp_path: Path) -> tuple[Path, Path]:
    stub = tmp_path / "python"
    stub.write_text(STUB.format(python=sys.executable))
    stub.chmod(0o755)
    return stub, tmp_path / "steps.log"


def make_env(log: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    return {**env, "STUB_LOG": str(log), "PYTHONPATH": "/leaked/from/the/shell"}


def steps(log: Path) -> list[tuple[str, float, float, str]]:
    """(step, start, end, PYTHONPATH seen) per stand-in run, in the order they started."""
    started: dict[tuple[str, str], tuple[float, str]] = {}
    runs = []
    for line in log.read_text().splitlines():
        pid, edge, step, at, path = line.split(" ", 4)
        if edge == "start":
            started[pid, step] = (float(at), path)
        else:
            begun, seen = started.pop((pid, step))
            runs.append((step, begun, float(at), seen.removeprefix("PYTHONPATH=")))
    assert not started, "a step never ended"
    return sorted(runs, key=lambda run: run[1])


def test_two_first_runs_at_once_build_the_venv_once_one_after_the_other(tmp_path: Path) -> None:
    stub, log = stand_in(tmp_path)
    venv = tmp_path / "shared" / ".venv"
    command = ["make", "--no-print-directory", "venv", f"VENV={venv}", f"PYTHON={stub}"]
    runs = [
        subprocess.Popen(
            command,
            cwd=ROOT,
            env=make_env(log),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=60)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    ran = steps(log)
    assert [step for step, *_ in ran] == ["venv", "pip", "pip"], ran  # once, not twice
    assert all(end <= after[1] for (_, _, end, _), after in itertools.pairwise(ran))
    assert [seen for *_, seen in ran] == ["", "", ""]  # no project PYTHONPATH reaches pip
    builder = [out for out in outputs if "[1/3]" in out]
    assert len(builder) == 1, outputs
    for step in ("[1/3]", "[2/3] pip install --upgrade pip", "[3/3] pip install -e .[dev,bench]"):
        assert step in builder[0]
    assert builder[0].count("done in ") == 3
    assert "ready in " in builder[0]
    assert (venv / ".installed-stamp").exists()


def test_a_ready_venv_is_left_alone(tmp_path: Path) -> None:
    stub, log = stand_in(tmp_path)
    venv = tmp_path / ".venv"
    command = ["make", "--no-print-directory", "venv", f"VENV={venv}", f"PYTHON={stub}"]
    for _ in range(2):
        subprocess.run(command, cwd=ROOT, env=make_env(log), check=True, capture_output=True)
    assert [step for step, *_ in steps(log)] == ["venv", "pip", "pip"]


def test_a_failed_step_says_so_and_leaves_no_stamp(tmp_path: Path) -> None:
    stub = tmp_path / "python"
    stub.write_text(f'#!/bin/sh\n[ "$2" = venv ] && exit 3\nexec {sys.executable} "$@"\n')
    stub.chmod(0o755)
    venv = tmp_path / ".venv"
    done = subprocess.run(
        ["make", "--no-print-directory", "venv", f"VENV={venv}", f"PYTHON={stub}"],
        cwd=ROOT,
        env=make_env(tmp_path / "unused.log"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "failed after" in done.stdout
    assert "(exit 3)" in done.stdout
    assert not (venv / ".installed-stamp").exists()


@pytest.mark.parametrize("target", ["validate", "build"])
def test_the_sam_cli_runs_without_the_project_pythonpath(tmp_path: Path, target: str) -> None:
    venv, sam_venv = tmp_path / "venv", tmp_path / "sam"
    record = tmp_path / "sam.log"
    for tool, where in (("cfn-lint", venv), ("sam", sam_venv)):
        (where / "bin").mkdir(parents=True)
        script = where / "bin" / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $* PYTHONPATH=$PYTHONPATH" >> {record}\n')
        script.chmod(0o755)
        (where / ".installed-stamp").touch()  # newer than pyproject.toml: nothing to install
    subprocess.run(
        ["make", target, f"VENV={venv}", f"SAM_VENV={sam_venv}"],
        cwd=ROOT,
        env=make_env(tmp_path / "unused.log"),
        check=True,
        capture_output=True,
    )
    sam = [line for line in record.read_text().splitlines() if line.startswith("sam ")]
    assert sam == [f"sam {target}{' --lint' if target == 'validate' else ''} PYTHONPATH="]
