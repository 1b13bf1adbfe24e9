"""The ``make dev`` emulator as the end-to-end tests' server: ``python -m llmrelay.local dev``
in a process group of its own (the front and its worker processes), on a free loopback port,
with the environment a fixture asks for; killed as a group at the end."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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


def _start(log: Path, env: Mapping[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    command = [sys.executable, "-m", "llmrelay.local", "dev", "--port", str(port)]
    with log.open("ab") as sink:
        process = subprocess.Popen(
            command, cwd=ROOT, env=dict(env), stdout=sink, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=_tied_to_this_process(),
        )  # fmt: skip
    return process, f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def running_emulator(log: Path, overrides: Mapping[str, str]) -> Iterator[Emulator]:
    """The emulator, up and healthy. A port taken between probe and bind means one retry."""
    env = _environment(overrides)
    for _attempt in range(3):
        process, url = _start(log, env)
        deadline = time.monotonic() + _START_TIMEOUT_S
        while process.poll() is None and time.monotonic() < deadline and not _healthy(url):
            time.sleep(0.1)
        if process.poll() is None and _healthy(url):
            break
        _stop(process)
    else:
        pytest.fail(f"llmrelay dev did not start; its log:\n{Emulator(url, log).log_tail()}")
    try:
        yield Emulator(url, log)
    finally:
        _stop(process)
