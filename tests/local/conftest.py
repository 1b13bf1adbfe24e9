"""Fixtures of the local emulator's tests: ``llmrelay dev`` as a real subprocess on a free
loopback port (in its own session, so a test can signal its process group), and a test
function that misbehaves on purpose (ignores its deadline, fails, crashes), to show what
the emulator does about it."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_START_TIMEOUT_S = 20.0
_STOP_TIMEOUT_S = 10.0
_URL = re.compile(r"function URL on (http://127\.0\.0\.1:\d+)")
# Nothing from the developer's shell may reach the workers: no keys, no endpoints.
_SCRUBBED_PREFIXES = ("LLMRELAY_", "AWS_", "POWERTOOLS_")
_SCRUBBED = {
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "HF_TOKEN",
}

# A function that misbehaves on request (the real gateway never does): /hang answers nothing,
# /drip streams past any deadline, /linger works on long after its response, /fail and
# /fail-midway raise, /crash exits, /env, /ids and /echo show what it was given; anything
# else answers its pid.
TEST_FUNCTION = """
import asyncio
import json
import os

from llmrelay.http import HttpResponse
from llmrelay.runtime import streaming_handler


async def _drip():
    for index in range(10_000):
        yield f"tick {index}\\n".encode()
        await asyncio.sleep(0.05)


async def _fail_midway():
    yield b"partial\\n"
    raise RuntimeError("failed after the first byte")


class _Lingering:  # a body whose closing, after the response, goes on for a minute

    def __init__(self):
        self._sent = False

    def __aiter__(self):
        return self

    async def __anext__(self):
        if self._sent:
            raise StopAsyncIteration
        self._sent = True
        return b"answered\\n"

    async def aclose(self):
        print("still at work after the response", flush=True)
        await asyncio.sleep(60)


def _json(document):
    return HttpResponse(200, {"content-type": "application/json"}, json.dumps(document).encode())


async def app(request, context):
    if request.path == "/hang":
        await asyncio.sleep(60)
    if request.path == "/drip":
        return HttpResponse(200, {"content-type": "text/plain"}, _drip())
    if request.path == "/fail":
        raise RuntimeError("failed before the first byte")
    if request.path == "/fail-midway":
        return HttpResponse(200, {"content-type": "text/plain"}, _fail_midway())
    if request.path == "/linger":
        return HttpResponse(200, {"content-type": "text/plain"}, _Lingering())
    if request.path == "/crash":
        os._exit(3)
    if request.path == "/env":
        return _json(dict(os.environ))
    if request.path == "/ids":
        return _json({"event": request.request_id, "context": context.aws_request_id})
    if request.path == "/echo":
        headers = {"content-type": "application/octet-stream", "x-method": request.method}
        return HttpResponse(201, headers, request.body, cookies=("a=1; Path=/", "b=2"))
    return HttpResponse(200, {"content-type": "text/plain"}, str(os.getpid()).encode())


handler = streaming_handler(app)
"""

TEST_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Layer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: {layer}
  ChatFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: app.handler
      Runtime: python3.13
      Timeout: 30
      Environment:
        Variables:
          FROM_TEMPLATE: "yes"
  BrokenFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: broken.handler
      Runtime: python3.13
"""


def clean_environment(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_SCRUBBED_PREFIXES) and name not in _SCRUBBED
    }
    env["PYTHONPATH"] = str(ROOT / "layers" / "llmrelay")
    env["PYTHONUNBUFFERED"] = "1"
    return {**env, **(overrides or {})}


@dataclass
class DevServer:
    process: subprocess.Popen[bytes]
    url: str = ""
    lines: list[str] = field(default_factory=list)

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def stop(self, signum: int = signal.SIGTERM) -> int:
        """Signal the whole process group; SIGKILL if it does not end in time."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)
        try:
            return self.process.wait(timeout=_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=_STOP_TIMEOUT_S)
            raise


def _read_lines(server: DevServer, started: threading.Event) -> None:
    assert server.process.stdout is not None
    for raw in server.process.stdout:
        line = raw.decode("utf-8", "replace").rstrip("\n")
        server.lines.append(line)
        if (match := _URL.search(line)) is not None:
            server.url = match.group(1)
            started.set()
    started.set()


@contextlib.contextmanager
def dev_server(
    args: Sequence[str] = (), env: Mapping[str, str] | None = None
) -> Iterator[DevServer]:
    """``python -m llmrelay.local dev --port 0 <args>``, up, and stopped afterwards."""
    command = [sys.executable, "-m", "llmrelay.local", "dev", "--port", "0", *args]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=clean_environment(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = DevServer(process)
    started = threading.Event()
    reader = threading.Thread(target=_read_lines, args=(server, started), daemon=True)
    reader.start()
    try:
        if not started.wait(_START_TIMEOUT_S) or not server.url:
            pytest.fail(f"llmrelay dev did not start:\n{server.log}")
        yield server
    finally:
        if process.poll() is None:
            server.stop()
        reader.join(timeout=_STOP_TIMEOUT_S)


def wait_for_log(server: DevServer, pattern: str, timeout_s: float = 5.0) -> str:
    """The first log line matching ``pattern`` (the request log comes after the body)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in list(server.lines):
            if re.search(pattern, line):
                return line
        time.sleep(0.02)
    raise AssertionError(f"no log line matches {pattern!r}:\n{server.log}")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def test_function(tmp_path: Path) -> Path:
    """A template (and its code) whose function ignores deadlines; returns the template."""
    code = tmp_path / "fn"
    code.mkdir()
    (code / "app.py").write_text(TEST_FUNCTION, encoding="utf-8")
    (code / "broken.py").write_text(
        "raise ImportError('this module is broken')\n", encoding="utf-8"
    )
    template = tmp_path / "template.yaml"
    layer = ROOT / "layers" / "llmrelay"
    template.write_text(TEST_TEMPLATE.format(layer=layer), encoding="utf-8")
    return template
