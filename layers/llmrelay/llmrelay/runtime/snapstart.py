"""SnapStart: what the runtime does between init and the first invocation.

With ``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`` (Lambda publishing a version with
SnapStart on), once the handler is imported the runtime does what AWS's own Python runtime
client (``awslambdaric``) does:

1. runs the before-snapshot hooks, the last registered first, each taken off its list;
2. calls ``GET /2018-06-01/runtime/restore/next``: Lambda takes the snapshot while that call
   is pending, and every environment restored from the snapshot resumes from its answer;
3. runs the after-restore hooks, in the order they were registered (Lambda allows them 10 s);

then the invocation loop starts. A failure in 1 or 2 goes to ``/runtime/init/error`` as
``Runtime.BeforeSnapshotError`` and the process exits 64; a failure in 3 goes to
``/runtime/restore/error`` as ``Runtime.AfterRestoreError`` and it exits 65 (the statuses
``awslambdaric`` uses). An on-demand init does none of this.

The hooks are those registered with ``snapshot_restore_py`` (see :mod:`.hooks`). A hook may
also be a coroutine function (an addition of llmrelay's): what it returns is awaited on the
runtime's one event loop, so async clients can be closed there.
"""

from __future__ import annotations

import gc
import inspect
from collections.abc import Awaitable, Callable, Mapping

from llmrelay.runtime.api import Reply, RuntimeApi
from llmrelay.runtime.hooks import Hook, Registry, registry
from llmrelay.runtime.report import ErrorReport, log

__all__ = [
    "AFTER_RESTORE_ERROR",
    "BEFORE_SNAPSHOT_ERROR",
    "SNAP_START",
    "SnapStartFailed",
    "enabled",
    "snapshot_and_restore",
]

SNAP_START = "snap-start"
BEFORE_SNAPSHOT_ERROR = "Runtime.BeforeSnapshotError"
AFTER_RESTORE_ERROR = "Runtime.AfterRestoreError"
_INIT_TYPE = "AWS_LAMBDA_INITIALIZATION_TYPE"

ReportFn = Callable[[str, bytes], Awaitable[Reply]]


class SnapStartFailed(Exception):
    """A hook (or ``restore/next``) failed; Lambda has been told. The process exits with
    ``exit_status``."""

    def __init__(self, kind: str, exit_status: int) -> None:
        super().__init__(kind, exit_status)
        self.kind = kind
        self.exit_status = exit_status

    def __str__(self) -> str:
        return f"{self.kind} (exit status {self.exit_status})"


def enabled(environ: Mapping[str, str]) -> bool:
    """Whether this init is SnapStart's (a version being published with SnapStart on)."""
    return environ.get(_INIT_TYPE) == SNAP_START


async def snapshot_and_restore(api: RuntimeApi, hooks: Registry | None = None) -> None:
    """Before-snapshot hooks, ``restore/next``, after-restore hooks (see the module)."""
    hooks = hooks or registry()
    try:
        await _run_before_snapshot(hooks.get_before_snapshot())
        _freeze_init()
        await api.restore_next()
    except Exception as exc:
        await _report(api.post_init_error, BEFORE_SNAPSHOT_ERROR, "before snapshot", exc)
        raise SnapStartFailed(BEFORE_SNAPSHOT_ERROR, 64) from exc
    finally:
        # Do not carry a socket across the snapshot into the invocations: /next opens anew.
        api.close()
    try:
        await _run_after_restore(hooks.get_after_restore())
    except Exception as exc:
        await _report(api.post_restore_error, AFTER_RESTORE_ERROR, "after restore", exc)
        raise SnapStartFailed(AFTER_RESTORE_ERROR, 65) from exc


async def _run_before_snapshot(hooks: list[Hook]) -> None:
    while hooks:  # last registered first, each once (popped)
        func, args, kwargs = hooks.pop()
        await _call(func, args, kwargs)


async def _run_after_restore(hooks: list[Hook]) -> None:
    for func, args, kwargs in list(hooks):
        await _call(func, args, kwargs)


async def _call(
    func: Callable[..., object], args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    result = func(*args, **kwargs)
    if inspect.isawaitable(result):
        await result


def _freeze_init() -> None:
    """Leave out of the snapshot the garbage init made, and move what survived out of the
    collector's reach, so no collection after a restore has to page it in to scan it."""
    gc.collect()
    gc.freeze()


async def _report(post: ReportFn, kind: str, when: str, exc: BaseException) -> None:
    report = ErrorReport.from_exception(exc)
    log("ERROR", f"SnapStart hook failed {when}", errorKind=kind, **report.to_dict())
    try:
        reply = await post(kind, report.to_json())
    except Exception as post_exc:  # the process exits all the same
        log("ERROR", "could not report the failure to Lambda", error=repr(post_exc))
        return
    if reply.status != 202:
        detail = reply.body[:500].decode("utf-8", "replace")
        log("ERROR", f"{when} error rejected", status=reply.status, detail=detail)
