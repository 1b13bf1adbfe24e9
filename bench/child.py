"""The bench's helper processes: each prints one JSON line when ready, then answers one
JSON line per JSON command read on stdin, and exits when stdin closes.

Every part of a measurement runs in a process of its own (fake upstreams, the emulator,
uvicorn), so that none shares a GIL with the client that takes the times.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["REPO", "Child", "child_environment", "serve_commands"]

REPO = Path(__file__).resolve().parents[1]
_PATHS = (REPO, REPO / "layers" / "llmrelay", REPO / "functions" / "chat")


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment with the repository on ``PYTHONPATH``."""
    env = {**os.environ, **(extra or {})}
    paths = [str(p) for p in _PATHS]
    for source in (extra or {}, os.environ):
        if source.get("PYTHONPATH"):
            paths.append(source["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


class Child:
    """``python -m <module> [args]``; :attr:`ready` is its first JSON line."""

    def __init__(
        self, module: str, *args: str, env: Mapping[str, str] | None = None, timeout_s: float = 60
    ) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=REPO,
            env=child_environment(env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.module = module
        self.ready: dict[str, Any] = self._read()

    @property
    def pid(self) -> int:
        return self._process.pid

    def call(self, **command: Any) -> dict[str, Any]:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(command) + "\n")
        self._process.stdin.flush()
        return self._read()

    def _read(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            code = self._process.wait(10)
            raise RuntimeError(f"{self.module} exited ({code}) before answering")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def stop(self) -> None:
        if self._process.stdin is not None and not self._process.stdin.closed:
            self._process.stdin.close()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_commands(ready: Mapping[str, Any], handle: Callable[[dict[str, Any]], Any]) -> None:
    """The child's side: print ``ready``, then answer each command line until stdin closes."""
    out = sys.stdout
    out.write(json.dumps(ready) + "\n")
    out.flush()
    for line in sys.stdin:
        if line.strip():
            out.write(json.dumps(handle(json.loads(line))) + "\n")
            out.flush()
