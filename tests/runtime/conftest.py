"""Fixtures for the runtime's tests: the fake Runtime API, the loop running against it, and
small handler modules written into a temporary task root."""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from tests.runtime.fake_runtime_api import FakeRuntimeApi, LambdaEnv, RunLoop, WriteModule

from llmrelay.runtime.api import RuntimeApi
from llmrelay.runtime.context import FunctionInfo
from llmrelay.runtime.loop import serve

FUNCTION = FunctionInfo("chat", "7", 512, "/aws/lambda/chat", "2025/01/01/[7]abc")


@pytest.fixture
async def fake() -> AsyncIterator[FakeRuntimeApi]:
    """A started fake Runtime API; the test fails if the runtime broke the protocol."""
    api = await FakeRuntimeApi().start()
    yield api
    await api.stop()
    assert api.violations == []


@pytest.fixture
def threaded_fake() -> Iterator[FakeRuntimeApi]:
    """A fake Runtime API served from its own thread, for sync tests and subprocesses."""
    with FakeRuntimeApi().in_thread() as api:
        yield api
    assert api.violations == []


@pytest.fixture
def snap_start_fake() -> Iterator[FakeRuntimeApi]:
    """A threaded fake Runtime API initialising an environment for a SnapStart snapshot."""
    with FakeRuntimeApi(snap_start=True).in_thread() as api:
        yield api
    assert api.violations == []


@pytest.fixture(autouse=True)
def _no_trace_id_leak(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loop sets ``_X_AMZN_TRACE_ID`` in this process: restore it after each test."""
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "")
    monkeypatch.delenv("_X_AMZN_TRACE_ID")


@pytest.fixture
def run_loop(fake: FakeRuntimeApi) -> RunLoop:
    """``await run_loop(handler, invocations)``: the real loop, stopped after that many."""

    async def run(handler: object, invocations: int = 1, timeout: float = 5.0) -> None:
        api = RuntimeApi(fake.address)
        async with asyncio.timeout(timeout):
            await serve(api, handler, function=FUNCTION, max_invocations=invocations)

    return run


@pytest.fixture
def task_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty task root; ``sys.path`` and ``sys.modules`` are restored afterwards."""
    root = tmp_path / "task"
    root.mkdir()
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield root
    for name in set(sys.modules) - before:
        if str(root) in str(getattr(sys.modules[name], "__file__", "")):
            del sys.modules[name]


@pytest.fixture
def write_module(task_root: Path) -> WriteModule:
    """``write_module("app", source)`` writes ``app.py`` into the task root."""

    def write(name: str, source: str) -> Path:
        path = task_root / f"{name}.py"
        path.write_text(textwrap.dedent(source))
        return path

    return write


@pytest.fixture
def lambda_env(threaded_fake: FakeRuntimeApi, task_root: Path) -> LambdaEnv:
    """``lambda_env("app.handler")``: the environment Lambda gives the runtime process,
    pointed at the threaded fake Runtime API and the temporary task root."""

    def env(handler: str, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "AWS_LAMBDA_RUNTIME_API": threaded_fake.address,
            "LAMBDA_TASK_ROOT": str(task_root),
            "_HANDLER": handler,
            "AWS_LAMBDA_FUNCTION_NAME": "chat",
            **extra,
        }

    return env
