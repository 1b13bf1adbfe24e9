"""``make test``'s runner (scripts/run_tests.py): the files its serial part collects, and one
area run through the real Makefile (the area's tests, then its serial ones, no beside part, no
coverage gate). The whole-suite run, with its beside part and the gate, is ``make test`` itself.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_tests", ROOT / "scripts" / "run_tests.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_serial_part_collects_the_files_that_mark_a_test_serial() -> None:
    files = runner().serial_files()
    assert files == ["tests/e2e/test_load.py", "tests/test_httpd_limits.py"]


def test_an_area_runs_its_tests_then_its_serial_ones_with_no_beside_part_and_no_gate(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    command = [
        "make", "--no-print-directory", "test", "AREA=test_sse.py", "TEST_WORKERS=0",
        "PYTEST_ARGS=-q -p no:cacheprovider -k frames",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    commands = [line for line in done.stdout.splitlines() if line.startswith("$ ")]
    assert len(commands) == 2, done.stdout
    main, serial = commands
    assert "-m 'not serial'" in main
    assert main.endswith("tests/test_sse.py -q -p no:cacheprovider -k frames")
    assert "-m serial tests/test_sse.py" in serial
    assert "--cov" not in main + serial
    assert " passed" in done.stdout
