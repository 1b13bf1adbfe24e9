"""SnapStart: with ``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`` the runtime runs the
before-snapshot hooks, calls ``/restore/next``, runs the after-restore hooks, then serves;
failures go to ``/init/error`` (exit 64) or ``/restore/error`` (exit 65). On-demand inits
do none of it. All against the fake Runtime API, which rejects any other order."""

from __future__ import annotations

import subprocess
import sys
import types
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import snapshot_restore_py
from tests.runtime.fake_runtime_api import BASE, FakeRuntimeApi, WriteModule

from llmrelay.runtime import hooks
from llmrelay.runtime.loop import main

LAYER = Path(__file__).resolve().parents[2] / "layers" / "llmrelay"
SECRET = "sk-ant-ABCDEFGHIJKLMNOPQRSTUV"
RESTORE_NEXT = ("GET", f"{BASE}/restore/next")
NEXT = ("GET", f"{BASE}/invocation/next")

# A handler module that registers hooks the way function code does, with Lambda's own
# library; each hook records its name and the Runtime API calls made so far.
MODULE = """
    import asyncio

    import snap_probe
    from snapshot_restore_py import register_after_restore, register_before_snapshot

    from llmrelay.http import HttpResponse
    from llmrelay.runtime import streaming_handler

    def record(name, fail=False):
        snap_probe.calls.append((name, [path for _, path, _ in snap_probe.fake.requests]))
        if fail:
            raise RuntimeError(f"hook {name} failed with {snap_probe.SECRET}")

    async def record_async(name):
        await asyncio.sleep(0)
        record(name)

    register_before_snapshot(record, "before-1", fail=snap_probe.FAIL == "before-1")
    register_before_snapshot(record, "before-2")

    @register_after_restore
    def after_1():
        record("after-1", fail=snap_probe.FAIL == "after-1")

    register_after_restore(record_async, "after-2")

    async def app(request, context):
        return HttpResponse(200, {"content-type": "text/plain"}, b"restored")

    handler = streaming_handler(app)
"""


@pytest.fixture(autouse=True)
def _empty_registries() -> Iterator[None]:
    """Hook lists are process-wide: each test starts and ends with none."""

    def clear() -> None:
        snapshot_restore_py.get_before_snapshot().clear()
        snapshot_restore_py.get_after_restore().clear()
        hooks.registry.cache_clear()

    clear()
    yield
    clear()


def _probe(
    monkeypatch: pytest.MonkeyPatch, fake: FakeRuntimeApi, fail: str = ""
) -> types.ModuleType:
    probe = types.ModuleType("snap_probe")
    probe.calls = []  # type: ignore[attr-defined]
    probe.fake = fake  # type: ignore[attr-defined]
    probe.FAIL = fail  # type: ignore[attr-defined]
    probe.SECRET = SECRET  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snap_probe", probe)
    return probe


def _environ(
    monkeypatch: pytest.MonkeyPatch,
    fake: FakeRuntimeApi,
    task_root: Path,
    write_module: WriteModule,
    *,
    snap_start: bool,
) -> None:
    name = f"snap_{uuid.uuid4().hex[:8]}"
    write_module(name, MODULE)
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", fake.address)
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(task_root))
    monkeypatch.setenv("_HANDLER", f"{name}.handler")
    if snap_start:
        monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")
    else:
        monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")


def _calls(fake: FakeRuntimeApi) -> list[tuple[str, str]]:
    return [(method, path) for method, path, _ in fake.requests]


def test_hooks_run_around_restore_next_then_the_loop_serves(
    snap_start_fake: FakeRuntimeApi,
    task_root: Path,
    write_module: WriteModule,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    probe = _probe(monkeypatch, snap_start_fake)
    _environ(monkeypatch, snap_start_fake, task_root, write_module, snap_start=True)
    request_id = snap_start_fake.enqueue({"rawPath": "/"})

    assert main(max_invocations=1) == 0

    restore = f"{BASE}/restore/next"
    assert probe.calls == [
        ("before-2", []),  # the last registered first, as awslambdaric runs them
        ("before-1", []),
        ("after-1", [restore]),  # after the restore, in the order registered
        ("after-2", [restore]),  # a coroutine function's result is awaited
    ]
    assert _calls(snap_start_fake) == [
        RESTORE_NEXT,
        NEXT,
        ("POST", f"{BASE}/invocation/{request_id}/response"),
    ]
    assert snap_start_fake.exchanges[request_id].body == b"restored"
    assert snapshot_restore_py.get_before_snapshot() == []  # each ran once, taken off


def test_the_invocations_do_not_reuse_the_connection_from_before_the_snapshot(
    snap_start_fake: FakeRuntimeApi,
    task_root: Path,
    write_module: WriteModule,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _probe(monkeypatch, snap_start_fake)
    _environ(monkeypatch, snap_start_fake, task_root, write_module, snap_start=True)
    snap_start_fake.enqueue({"rawPath": "/"})
    assert main(max_invocations=1) == 0
    [(_, _, restore), (_, _, first_next), *_] = snap_start_fake.requests
    assert first_next != restore


def test_an_on_demand_init_runs_no_hook_and_never_calls_restore_next(
    threaded_fake: FakeRuntimeApi,
    task_root: Path,
    write_module: WriteModule,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    probe = _probe(monkeypatch, threaded_fake)
    _environ(monkeypatch, threaded_fake, task_root, write_module, snap_start=False)
    request_id = threaded_fake.enqueue({"rawPath": "/"})

    assert main(max_invocations=1) == 0

    assert probe.calls == []
    assert _calls(threaded_fake) == [NEXT, ("POST", f"{BASE}/invocation/{request_id}/response")]
    assert len(snapshot_restore_py.get_before_snapshot()) == 2  # registered, never run


def test_a_failing_before_snapshot_hook_is_an_init_error(
    snap_start_fake: FakeRuntimeApi,
    task_root: Path,
    write_module: WriteModule,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    probe = _probe(monkeypatch, snap_start_fake, fail="before-1")
    _environ(monkeypatch, snap_start_fake, task_root, write_module, snap_start=True)

    assert main() == 64

    assert [name for name, _ in probe.calls] == ["before-2", "before-1"]
    assert _calls(snap_start_fake) == [("POST", f"{BASE}/init/error")]
    [init] = snap_start_fake.init_errors
    assert init.headers["lambda-runtime-function-error-type"] == "Runtime.BeforeSnapshotError"
    assert init.error is not None
    assert init.error["errorType"] == "RuntimeError"
    assert init.error["errorMessage"] == "hook before-1 failed with [redacted]"
    assert SECRET not in capsys.readouterr().err


def test_restore_next_refused_is_an_init_error(
    snap_start_fake: FakeRuntimeApi,
    task_root: Path,
    write_module: WriteModule,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    probe = _probe(monkeypatch, snap_start_fake)
    _environ(monkeypatch, snap_start_fake, task_root, write_module, snap_start=True)
    snap_start_fake.restore_status = 500

    assert main() == 64

    assert [name for name, _ in probe.calls] == ["before-2", "before-1"]  # no after-restore
    assert _calls(snap_start_fake) == [RESTORE_NEXT, ("POST", f"{BASE}/init/error")]
    [init] = snap_start_fake.init_errors
    assert init.headers["lambda-runtime-function-error-type"] == "Runtime.BeforeSnapshotError"
    assert init.error is not None
    assert init.error["errorType"] == "RuntimeApiError"


def test_a_failing_after_restore_hook_goes_to_restore_error_and_the_process_exits(
    snap_start_fake: FakeRuntimeApi,
    task_root: Path,
    write_module: WriteModule,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    probe = _probe(monkeypatch, snap_start_fake, fail="after-1")
    _environ(monkeypatch, snap_start_fake, task_root, write_module, snap_start=True)
    snap_start_fake.enqueue({"rawPath": "/"})  # never asked for

    assert main() == 65

    assert [name for name, _ in probe.calls] == ["before-2", "before-1", "after-1"]
    assert _calls(snap_start_fake) == [RESTORE_NEXT, ("POST", f"{BASE}/restore/error")]
    [restore_error] = snap_start_fake.restore_errors
    kind = restore_error.headers["lambda-runtime-function-error-type"]
    assert kind == "Runtime.AfterRestoreError"
    assert restore_error.error is not None
    assert restore_error.error["errorType"] == "RuntimeError"
    assert restore_error.error["errorMessage"] == "hook after-1 failed with [redacted]"
    assert restore_error.error["stackTrace"]
    assert SECRET not in capsys.readouterr().err


def test_the_process_exits_65_when_an_after_restore_hook_fails(
    snap_start_fake: FakeRuntimeApi, write_module: WriteModule, task_root: Path
) -> None:
    write_module(
        "app",
        """
        from snapshot_restore_py import register_after_restore

        def handler(event, context):
            return {}

        @register_after_restore
        def broken():
            raise ValueError("no restore today")
        """,
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_LAMBDA_RUNTIME_API": snap_start_fake.address,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start",
        "LAMBDA_TASK_ROOT": str(task_root),
        "_HANDLER": "app.handler",
        "PYTHONPATH": str(LAYER),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    result = subprocess.run(
        [sys.executable, "-m", "llmrelay.runtime"],
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert result.returncode == 65, result.stderr
    [restore_error] = snap_start_fake.restore_errors
    assert restore_error.error is not None
    assert restore_error.error["errorMessage"] == "no restore today"


def test_llmrelay_registers_with_lambdas_library_when_it_is_there() -> None:
    def hook() -> None:
        pass

    assert hooks.register_before_snapshot(hook, 1, a=2) is hook
    assert hooks.register_after_restore(hook) is hook
    assert snapshot_restore_py.get_before_snapshot() == [(hook, (1,), {"a": 2})]
    assert snapshot_restore_py.get_after_restore() == [(hook, (), {})]


def test_without_lambdas_library_a_registry_of_the_same_api_stands_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import fails
    hooks.registry.cache_clear()
    seen: list[str] = []

    @hooks.register_after_restore
    def after() -> None:
        seen.append("after")

    registry = hooks.registry()
    assert isinstance(registry, hooks.FallbackRegistry)
    assert registry.get_after_restore() == [(after, (), {})]
    assert registry.get_before_snapshot() == []
    assert hooks.registry() is registry  # one per process
