"""Create a virtual environment once, safely, and say what it is doing (``make venv``).

    python3 scripts/setup_venv.py --venv .venv --stamp .venv/.installed-stamp \\
        --input pyproject.toml -- -e '.[dev,bench]'

Two ``make`` runs started together (``make test`` in one terminal, ``make dev`` in another)
both find the environment missing. Each takes an exclusive lock (``<venv>.lock``, released by
the kernel when the process ends, even on Ctrl-C) before it touches the environment; the one
that waited finds the stamp fresh and leaves. Each step prints its time, and a long pip
install says that it is still going, so a first run is never minutes of silence.

Runs on the interpreter that creates the environment: plain standard library, and readable
by older Pythons long enough to say which version is needed.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

_MINIMUM = (3, 11)
_HEARTBEAT_S = 15.0


def _say(text: str) -> None:
    print(text, flush=True)


def _fresh(stamp: Path, inputs: list[Path]) -> bool:
    """The stamp exists and is at least as new as every input (make's own rule)."""
    if not stamp.exists():
        return False
    made = stamp.stat().st_mtime
    return all(made >= path.stat().st_mtime for path in inputs if path.exists())


def _child_env() -> dict[str, str]:
    # A PYTHONPATH exported for the project's own commands (the Makefile's) must not reach
    # pip: it would see the project's sources as installed and report false conflicts.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    env.setdefault("PIP_ROOT_USER_ACTION", "ignore")
    return env


def _run(step: str, command: list[str]) -> None:
    """Run one step, a heartbeat line while it lasts, then its time; exit on failure."""
    _say(f"  {step}")
    started = time.monotonic()
    process = subprocess.Popen(command, env=_child_env())
    while True:
        try:
            code = process.wait(timeout=_HEARTBEAT_S)
            break
        except subprocess.TimeoutExpired:
            _say(f"      ... still going, {time.monotonic() - started:.0f} s")
    took = time.monotonic() - started
    if code != 0:
        _say(f"      failed after {took:.1f} s (exit {code})")
        raise SystemExit(code)
    _say(f"      done in {took:.1f} s")


def _steps(python: str, venv: Path, install: list[str]) -> list[tuple[str, list[str]]]:
    inner = str(venv / "bin" / "python")
    pip = [inner, "-m", "pip", "install", "--quiet"]
    return [
        (f"{python} -m venv {venv}", [python, "-m", "venv", str(venv)]),
        ("pip install --upgrade pip", [*pip, "--upgrade", "pip"]),
        ("pip install " + " ".join(install), [*pip, *install]),
    ]


def _parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(description="Create a virtual environment once.")
    parser.add_argument("--venv", type=Path, required=True)
    parser.add_argument("--stamp", type=Path, required=True)
    parser.add_argument("--python", default=sys.executable, help="creates the venv")
    parser.add_argument("--input", type=Path, action="append", default=[], dest="inputs")
    split = argv.index("--") if "--" in argv else len(argv)
    return parser.parse_args(argv[:split]), argv[split + 1 :]


def main(argv: list[str] | None = None) -> int:
    args, install = _parse(sys.argv[1:] if argv is None else argv)
    if sys.version_info < _MINIMUM:
        found = ".".join(map(str, sys.version_info[:3]))
        _say(f"llmrelay needs Python 3.11 or newer; {sys.executable} is {found}.")
        _say("Name another one: make PYTHON=python3.13 ...")
        return 2
    venv: Path = args.venv
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{venv}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _say(f"llmrelay: another run is creating {venv}; waiting for it")
            fcntl.flock(lock, fcntl.LOCK_EX)
        if _fresh(args.stamp, args.inputs):
            _say(f"llmrelay: {venv} is ready")
            return 0
        _say(f"llmrelay: setting up {venv} (the first time: one to four minutes, mostly pip)")
        started = time.monotonic()
        steps = _steps(args.python, venv, install)
        for number, (label, command) in enumerate(steps, 1):
            _run(f"[{number}/{len(steps)}] {label}", command)
        args.stamp.touch()
        _say(f"llmrelay: {venv} ready in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
