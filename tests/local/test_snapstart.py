"""SnapStart in the emulator: the Runtime API speaks ``/restore/next`` and ``/restore/error``
as Lambda does for a version being published, and the pool restores a worker initialised
ahead of time, running the real runtime loop and function."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from llmrelay.local.dev import DevOptions, running_gateway
from llmrelay.local.function import local_function
from llmrelay.local.invocation import Invocation
from llmrelay.local.pool import WorkerPool
from llmrelay.local.runtime_api import InitFailed, RuntimeApi
from llmrelay.local.workers import WorkerSpec

from .conftest import ROOT, clean_environment
from .rapi_client import call
from .sse_client import aread_stream, chat, worker_of

ARN = "arn:aws:lambda:us-east-1:123456789012:function:ChatFunction"


@pytest.fixture
async def snap_api() -> AsyncIterator[RuntimeApi]:
    emulator = RuntimeApi(ARN, snap_start=True)
    await emulator.start()
    yield emulator
    emulator.close()


async def test_restore_next_takes_the_snapshot_and_answers_once_restored(
    snap_api: RuntimeApi,
) -> None:
    restore = asyncio.create_task(call(snap_api.address, "GET", "/restore/next"))
    await snap_api.wait_snapshot(5)
    assert snap_api.state == "snapshot"
    early = await call(snap_api.address, "GET", "/invocation/next")  # still in the snapshot
    assert (early.status, early.json()["errorType"]) == (403, "InvalidStateTransition")
    assert not restore.done()

    snap_api.restore()
    assert (await asyncio.wait_for(restore, 5)).status == 200
    poll = asyncio.create_task(call(snap_api.address, "GET", "/invocation/next"))
    await snap_api.wait_ready(5)  # the restored environment asks for work
    invocation = Invocation(b"{}", 5)
    snap_api.submit(invocation)
    reply = await asyncio.wait_for(poll, 5)
    assert reply.headers["lambda-runtime-aws-request-id"] == invocation.request_id


async def test_a_snap_start_init_must_call_restore_next_before_next(snap_api: RuntimeApi) -> None:
    reply = await call(snap_api.address, "GET", "/invocation/next")
    assert (reply.status, reply.json()["errorType"]) == (403, "InvalidStateTransition")


async def test_restore_error_fails_the_restored_environment(snap_api: RuntimeApi) -> None:
    restore = asyncio.create_task(call(snap_api.address, "GET", "/restore/next"))
    await snap_api.wait_snapshot(5)
    snap_api.restore()
    await restore
    document = json.dumps({"errorType": "ValueError", "errorMessage": "no restore today"})
    headers = [("Lambda-Runtime-Function-Error-Type", "Runtime.AfterRestoreError")]
    reply = await call(snap_api.address, "POST", "/restore/error", document.encode(), headers)
    assert reply.status == 202
    with pytest.raises(InitFailed, match=r"Runtime\.AfterRestoreError: no restore today"):
        await snap_api.wait_ready(1)
    again = await call(snap_api.address, "POST", "/restore/error", document.encode(), headers)
    assert again.status == 403


@pytest.mark.parametrize("path", ["/restore/next", "/restore/error"])
async def test_an_on_demand_init_refuses_the_restore_calls(path: str) -> None:
    api = RuntimeApi(ARN)
    await api.start()
    try:
        method = "GET" if path.endswith("next") else "POST"
        reply = await call(api.address, method, path, b"{}" if method == "POST" else b"")
        assert (reply.status, reply.json()["errorType"]) == (403, "InvalidStateTransition")
    finally:
        api.close()


@pytest.mark.e2e
async def test_a_cold_start_restores_a_worker_initialised_ahead_of_time() -> None:
    environ = clean_environment({"LLMRELAY_ECHO_DELAY_MS": "0"})
    with local_function(ROOT / "template.yaml", environ=environ) as function:
        options = DevOptions(port=0, concurrency=2, snap_start=True)
        async with (
            running_gateway(function, options) as running,
            httpx.AsyncClient(timeout=httpx.Timeout(20.0)) as client,
        ):
            spare = await running.pool.prepare()
            assert spare is not None
            assert spare.api.state == "snapshot"  # initialised, waiting to be restored
            stream = await aread_stream(client, f"{running.url}/chat", chat("restored hello"))
            assert stream.text == "restored hello"
            pid, start = worker_of(stream.headers)
            assert (pid, start) == (spare.pid, "cold")
            assert spare.restore_ms > 0
            following = await running.pool.prepare()  # the next snapshot, already on its way
            assert following is not None
            assert following is not spare


# A function whose after-restore hook fails: the restore is reported and the request fails.
_BROKEN = """
from snapshot_restore_py import register_after_restore

from llmrelay.http import HttpResponse
from llmrelay.runtime import streaming_handler


async def app(request, context):
    return HttpResponse(200, {"content-type": "text/plain"}, b"never")


handler = streaming_handler(app)


@register_after_restore
def broken():
    raise ValueError("no restore today")
"""


@pytest.mark.e2e
async def test_a_failing_after_restore_hook_fails_the_cold_start(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(_BROKEN, encoding="utf-8")
    spec = WorkerSpec(
        command=(sys.executable, "-m", "llmrelay.runtime"),
        environment=clean_environment(
            {"LAMBDA_TASK_ROOT": str(tmp_path), "_HANDLER": "app.handler"}
        ),
        cwd=tmp_path,
        function_arn=ARN,
        timeout_s=5.0,
        snap_start=True,
    )
    pool = WorkerPool(spec, concurrency=1)
    try:
        with pytest.raises(InitFailed, match=r"Runtime\.AfterRestoreError: no restore today"):
            async with pool.lease():
                pass
    finally:
        await pool.close()
