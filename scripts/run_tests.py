"""``make test``: the suite in parallel parts, then its serial tests, then the coverage gate.

    python scripts/run_tests.py --workers 4                  # the whole suite, gated
    python scripts/run_tests.py --workers 4 --area protocols # one area of tests/, no gate
    python scripts/run_tests.py --workers 0 -- -k deadline   # one process; pytest arguments

The whole suite runs in three parts:

1. **Beside**: the fault matrix (:data:`BESIDE`) in pytest-xdist workers of its own, its output
   in ``.coverage-beside/pytest.log``. Its 637 cases spend about 130 s waiting out first-token
   and idle timeouts on purpose and 12 s on CPU: beside the rest, in one worker per core
   (``--beside-workers``), it costs the clock little, while in the same workers it kept them
   idle for a third of the run. Only its summary is printed (all of its log when it fails).
2. **Main**: every other test not marked ``serial``, in ``--workers`` workers, shown as it runs.
3. **Serial**: the tests marked ``serial`` (the 64-stream load test needs the whole machine),
   alone, after both; only the files that name the mark are collected.

Coverage measures all three (``.coverage-beside/.coverage`` is combined into ``.coverage``) and
``coverage report`` fails under the gate in pyproject.toml. With ``--area`` or ``--workers 0``
there is no beside part; an area has no gate (it covers only its part).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BESIDE = "tests/faults/test_fault_matrix.py"
BESIDE_DIR = ROOT / ".coverage-beside"
NO_TESTS = 5  # pytest's exit status when nothing was selected: a part may select none
_SERIAL_MARK = re.compile(r"mark\.serial")  # the pattern tests/conftest.py's guard checks too
_STOP_GRACE_S = 10.0


def serial_files() -> list[str]:
    """The test files that name the serial mark (tests/conftest.py stops a run that marks a
    test serial anywhere else)."""
    found = [
        path for path in (ROOT / "tests").rglob("*.py") if _SERIAL_MARK.search(path.read_text())
    ]
    return sorted(str(path.relative_to(ROOT)) for path in found)


def pytest_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", *args]


def xdist(workers: int) -> list[str]:
    return ["-n", str(workers), "--dist", "worksteal"] if workers else []


COV = ["--cov", "--cov-report=", "--cov-fail-under=0"]


def run(command: Sequence[str]) -> int:
    print("$ " + shlex.join(command), flush=True)
    return subprocess.run(command, cwd=ROOT, check=False).returncode


def ok(code: int) -> bool:
    return code in (0, NO_TESTS)


class Beside:
    """The beside part: started first, waited for after the main part."""

    def __init__(self, workers: int, extra: Sequence[str]) -> None:
        BESIDE_DIR.mkdir()
        self.log = BESIDE_DIR / "pytest.log"
        env = {**os.environ, "COVERAGE_FILE": str(BESIDE_DIR / ".coverage")}
        command = pytest_command(*xdist(workers), "-m", "not serial", *COV, BESIDE, *extra)
        print(f"$ {shlex.join(command)} > {self.log.relative_to(ROOT)} &  # beside", flush=True)
        with self.log.open("wb") as log:
            # Its own session: Ctrl-C reaches the main part only, and stop() ends this one.
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def wait(self) -> int:
        if self.process.poll() is None:
            print(f"waiting for the beside part ({BESIDE})...", flush=True)
        code = self.process.wait()
        text = self.log.read_text(errors="replace")
        print(f"--- the beside part ({BESIDE}), from {self.log.relative_to(ROOT)}:", flush=True)
        lines = text.rstrip().splitlines()
        if not ok(code):
            print(text, flush=True)
        else:
            start = next((n for n, line in enumerate(lines) if "short test summary" in line), -1)
            print("\n".join(lines[start:]), flush=True)
        return code

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(_STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def remove_coverage_data() -> None:
    """The last run's coverage data, which would otherwise count towards this run's."""
    for stale in [ROOT / ".coverage", *ROOT.glob(".coverage.*")]:
        stale.unlink(missing_ok=True)
    if BESIDE_DIR.exists():
        for path in BESIDE_DIR.iterdir():
            path.unlink()
        BESIDE_DIR.rmdir()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--workers", type=int, default=4, help="0: one process, no beside part")
    parser.add_argument(
        "--beside-workers", type=int, help="the beside part's workers (default: half --workers)"
    )
    parser.add_argument("--area", action="append", default=[], help="a path under tests/")
    parser.add_argument("extra", nargs="*", help="pytest arguments (after --)")
    options = parser.parse_args(argv)
    areas = [f"tests/{area}" for area in options.area]
    whole = not areas
    cov = COV if whole else []
    if whole:  # (an area run, say from a test of this script, leaves a whole run's data alone)
        remove_coverage_data()

    beside = None
    if whole and options.workers:
        beside = Beside(options.beside_workers or max(1, options.workers // 2), options.extra)
    try:
        skip = ["--ignore", BESIDE] if beside else []
        main_part = pytest_command(
            *xdist(options.workers), "-m", "not serial", *cov, *skip, *areas, *options.extra
        )
        code = run(main_part)
        # Even after a failure the beside part is waited for: the run reports every failure.
        beside_code = beside.wait() if beside is not None else 0
        for part in (code, beside_code):
            if not ok(part):
                return part
    finally:
        if beside is not None:
            beside.stop()

    serial = [*cov, "--cov-append"] if cov else []
    code = run(pytest_command("-m", "serial", *serial, *(areas or serial_files()), *options.extra))
    if not ok(code):
        return code
    if not whole:
        return 0
    if beside is not None and (BESIDE_DIR / ".coverage").exists():
        code = run([sys.executable, "-m", "coverage", "combine", "--append", "--quiet",
                    str(BESIDE_DIR / ".coverage")])  # fmt: skip
        if code:
            return code
    return run([sys.executable, "-m", "coverage", "report"])


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the parts were stopped (the beside part by main's finally)
        sys.exit(130)
