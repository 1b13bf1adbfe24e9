"""The ``make dev`` emulator as the end-to-end tests' server: ``python -m llmrelay.local dev``
in a process group of its own (the front and its worker processes), on the loopback port it
picks itself (``--port 0``: parallel test workers can never race for one), with the
environment a fixture asks for; killed as a group at the end."""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.helpers.shell_env import is_scrubbed

__all__ = ["FAST_ECHO", "SLOW_ECHO", "Emulator", "running_emulator"]

ROOT = Path(__file__).resolve().parents[2]
_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 10.0
_PR_SET_PDEATHSIG = 1  # prctl(2)

FAST_ECHO: Mapping[str, str] = {"LLMRELAY_ECHO_DELAY_MS": "0"}
# Slow enough that an answer arrives in visibly separate steps, and a deadline close enough
# that a long answer is cut by it: 2.5 s of function time less the 0.3 s margin.
SLOW_ECHO: Mapping[str, str] = {"LLMRELAY_ECHO_DELAY_MS": "120", "LLMRELAY_DEV_TIMEOUT": "2.5"}


@dataclass(frozen=True)
class Emulator:
    url: str
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


_BANNER = re.compile(rb"function URL on (http://127\.0\.0\.1:\d+)")


def _environment(overrides: Mapping[str, str]) -> dict[str, str]:
    # Nothing from the developer's shell may reach the emulator: no keys, no endpoints, no AWS.
    env = {name: value for name, value in os.environ.items() if not is_scrubbed(name)}
    paths = [str(ROOT / "layers" / "llmrelay"), str(ROOT / "functions" / "chat")]
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["PYTHONUNBUFFERED"] = "1"
    return {**env, **overrides}


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:  # noqa: S310
            return bool(answer.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the whole group (the emulator stops its workers), then SIGKILL."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)
        try:
            process.wait(timeout=_STOP_TIMEOUT_S)
            return
        except subprocess.TimeoutExpired:
            continue


def _tied_to_this_process() -> Callable[[], None] | None:
    """On Linux, the emulator gets SIGTERM (and so stops its workers) when the test run
    dies without its teardown, e.g. killed by a timeout; it never outlives the run."""
    if not sys.platform.startswith("linux"):
        return None
    parent = os.getpid()

    def tie() -> None:  # runs in the child, between fork and exec
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the run died before the tie was made
            os.kill(os.getpid(), signal.SIGTERM)

    return tie


def _start(log: Path, env: Mapping[str, str], args: Sequence[str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "llmrelay.local", "dev", "--port", "0", *args]
    with log.open("ab") as sink:
        return subprocess.Popen(
            command, cwd=ROOT, env=dict(env), stdout=sink, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=_tied_to_this_process(),
        )  # fmt: skip


def _announced(log: Path, offset: int) -> str | None:
    """The URL this start's banner names (the log may hold earlier starts' lines)."""
    with log.open("rb") as text:
        text.seek(offset)
        found = _BANNER.search(text.read())
    return found.group(1).decode() if found else None


@contextlib.contextmanager
def running_emulator(
    log: Path, overrides: Mapping[str, str], args: Sequence[str] = ()
) -> Iterator[Emulator]:
    """The emulator, up and healthy (a failed start is tried again, twice); ``args`` go to
    ``llmrelay dev`` (``--secrets-file keys.json``, say)."""
    env = _environment(overrides)
    url = "(none)"
    for _attempt in range(3):
        offset = log.stat().st_size if log.exists() else 0
        process = _start(log, env, args)
        deadline = time.monotonic() + _START_TIMEOUT_S
        announced = None
        while process.poll() is None and time.monotonic() < deadline:
            announced = announced or _announced(log, offset)
            if announced and _healthy(announced):
                break
            time.sleep(0.1)
        if process.poll() is None and announced and _healthy(announced):
            url = announced
            break
        _stop(process)
    else:
        pytest.fail(f"llmrelay dev did not start; its log:\n{Emulator(url, log).log_tail()}")
    try:
        yield Emulator(url, log)
    finally:
        _stop(process)
