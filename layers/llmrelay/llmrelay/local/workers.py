"""One worker: a process running the real exec wrapper and runtime loop, with its own
Runtime API emulator, like one Lambda execution environment.

It is started as Lambda starts it, ``llmrelay-stream <python> /var/runtime/bootstrap.py``,
in its own process group (so Ctrl-C reaches the emulator, which then stops it and any
child it made), with the function's environment and ``AWS_LAMBDA_RUNTIME_API`` pointing
at its emulator. Its output is forwarded line by line, prefixed with its pid.

With SnapStart (:attr:`WorkerSpec.snap_start`) a worker is initialised as Lambda initialises a
version being published (``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``): :meth:`Worker.start`
returns once the runtime waits in ``/restore/next`` (its before-snapshot hooks done, the
"snapshot" taken), and :meth:`Worker.restore` resumes it, like an environment restored from
that snapshot, which then has 10 s to run its after-restore hooks and ask for work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from llmrelay.local.invocation import FunctionError, Invocation
from llmrelay.local.runtime_api import InitFailed, RuntimeApi
from llmrelay.local.template import FunctionConfig

__all__ = ["LOCAL_DEFAULTS", "WRAPPER_NAME", "Worker", "WorkerSpec", "function_environment"]

WRAPPER_NAME = "llmrelay-stream"
_BOOTSTRAP = "/var/runtime/bootstrap.py"  # what Lambda passes; the wrapper execs the loop
_STOP_GRACE_S = 2.0
_RESTORE_LIMIT_S = 10.0  # Lambda's limit on the after-restore hooks
# A snapshot's init runs while a version is published, not while a client waits: it may warm
# several SDKs, which a loaded machine can take longer than an on-demand init's 10 s to do.
_SNAPSHOT_INIT_S = 60.0
_ACCOUNT = "123456789012"
_log = logging.getLogger("llmrelay.local")


@dataclass(frozen=True)
class WorkerSpec:
    """How to start a worker: command, environment (without the Runtime API address),
    working directory, the function's ARN and its timeouts."""

    command: tuple[str, ...]
    environment: Mapping[str, str]
    cwd: Path
    function_arn: str
    timeout_s: float
    init_timeout_s: float = 10.0
    snap_start: bool = False

    @classmethod
    def for_function(
        cls, config: FunctionConfig, environment: Mapping[str, str], timeout_s: float | None = None
    ) -> WorkerSpec:
        wrapper = config.layer_dir / WRAPPER_NAME
        region = environment.get("AWS_REGION", "us-east-1")
        name = environment["AWS_LAMBDA_FUNCTION_NAME"]
        return cls(
            command=(str(wrapper), sys.executable, _BOOTSTRAP),
            environment=environment,
            cwd=config.task_root,
            function_arn=f"arn:aws:lambda:{region}:{_ACCOUNT}:function:{name}",
            timeout_s=config.timeout_s if timeout_s is None else timeout_s,
        )


# What the function URL does in AWS and the gateway must do itself locally: CORS like the
# template's default `CorsAllowOrigins: "*"` (off in Lambda, where the URL's Cors config answers).
LOCAL_DEFAULTS = {"LLMRELAY_CORS_ORIGINS": "*"}


def function_environment(
    config: FunctionConfig, user: Mapping[str, str], extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The template's variables, the local defaults, then the user's environment over them,
    then ``extra`` (the seeded secret), then what Lambda itself sets."""
    env = {**config.environment, **LOCAL_DEFAULTS, **user, **(extra or {})}
    if extra and "AWS_ACCESS_KEY_ID" in extra:
        env.pop("AWS_PROFILE", None)  # the dummy keys must win over a named profile
    region = env.setdefault("AWS_REGION", "us-east-1")
    env.setdefault("AWS_DEFAULT_REGION", region)
    name = config.logical_id
    env.update(
        LAMBDA_TASK_ROOT=str(config.task_root),
        _HANDLER=config.handler,
        AWS_LAMBDA_FUNCTION_NAME=name,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(config.memory_mb),
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_LOG_GROUP_NAME=f"/aws/lambda/{name}",
        AWS_EXECUTION_ENV=f"AWS_Lambda_{config.runtime}",
        PYTHONUNBUFFERED="1",
    )
    # The wrapper prepends /opt/python and the task root; locally the layer's package
    # lives in the source tree, so it goes first here.
    paths = [str(config.layer_dir), user.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(path for path in paths if path)
    return env


class Worker:
    """One execution environment; :meth:`start` returns once the runtime asks for work."""

    def __init__(self, spec: WorkerSpec, index: int) -> None:
        self.spec = spec
        self.index = index
        self.api = RuntimeApi(spec.function_arn, snap_start=spec.snap_start)
        self.init_ms = 0.0
        self.restore_ms = 0.0
        self.invocations = 0
        self._process: asyncio.subprocess.Process | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._last: Invocation | None = None

    @property
    def pid(self) -> int:
        return self._process.pid if self._process is not None else 0

    @property
    def healthy(self) -> bool:
        """Alive, initialised, and its last invocation did not time out."""
        alive = self._process is not None and self._process.returncode is None
        timed_out = self._last is not None and self._last.timed_out
        return alive and self.api.state != "failed" and not timed_out

    async def start(self) -> None:
        """Spawn the process and wait for its first ``/next``, or with SnapStart for its
        ``/restore/next`` (``InitFailed`` if not)."""
        began = time.monotonic()
        address = await self.api.start()
        env = {**self.spec.environment, "AWS_LAMBDA_RUNTIME_API": address}
        env["AWS_LAMBDA_INITIALIZATION_TYPE"] = (
            "snap-start" if self.spec.snap_start else "on-demand"
        )
        env["AWS_LAMBDA_LOG_STREAM_NAME"] = f"local/[$LATEST]worker-{self.index}"
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self.spec.command,
                env=env,
                cwd=self.spec.cwd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                limit=1024 * 1024,
            )
        except OSError as exc:
            error = FunctionError("Runtime.InvalidEntrypoint", f"{self.spec.command[0]}: {exc}")
            raise InitFailed(error) from exc
        watch, forward = self._watch(self._process), self._forward(self._process)
        self._tasks = [asyncio.create_task(watch), asyncio.create_task(forward)]
        if self.spec.snap_start:
            await self.api.wait_snapshot(max(self.spec.init_timeout_s, _SNAPSHOT_INIT_S))
        else:
            await self.api.wait_ready(self.spec.init_timeout_s)
        self.init_ms = (time.monotonic() - began) * 1000

    async def restore(self) -> None:
        """Resume a snapshotted worker and wait for its first ``/next`` (``InitFailed`` when
        an after-restore hook fails or it takes over 10 s)."""
        began = time.monotonic()
        self.api.restore()
        await self.api.wait_ready(_RESTORE_LIMIT_S)
        self.restore_ms = (time.monotonic() - began) * 1000

    def invoke(self, event: bytes, request_id: str | None = None) -> Invocation:
        """Hand ``event`` to the runtime; read the answer from the returned invocation."""
        invocation = Invocation(event, self.spec.timeout_s, request_id)
        self._last = invocation
        self.invocations += 1
        self.api.submit(invocation)
        return invocation

    async def wait_idle(self, timeout_s: float) -> bool:
        """Wait (at most ``timeout_s``) for the runtime's next ``/next``: until then it may
        still be at work on the last invocation, its response already sent."""
        return await self.api.wait_idle(timeout_s)

    async def stop(self) -> None:
        """Terminate the process group (SIGTERM, then SIGKILL) and the emulator."""
        process = self._process
        if process is not None and process.returncode is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), _STOP_GRACE_S)
            except TimeoutError:
                _signal_group(process.pid, signal.SIGKILL)
                await process.wait()
        if process is not None:
            _signal_group(process.pid, signal.SIGKILL)  # children the runtime left behind
        if self._tasks:  # its last lines of output, then the end of the pipe
            await asyncio.wait(self._tasks, timeout=_STOP_GRACE_S)
        self.api.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _watch(self, process: asyncio.subprocess.Process) -> None:
        returncode = await process.wait()
        await self.api.runtime_exited(returncode)

    async def _forward(self, process: asyncio.subprocess.Process) -> None:
        stdout = process.stdout
        while stdout is not None:
            try:
                line = await stdout.readline()
            except ValueError:  # a line longer than the buffer: pass it on in pieces
                line = await stdout.read(65536)
            if not line:
                return
            text = line.decode("utf-8", "replace").rstrip("\n")
            _log.info("  [pid %d] %s", process.pid, text)


def _signal_group(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
