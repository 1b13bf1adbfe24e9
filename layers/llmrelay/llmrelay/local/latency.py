"""A short scheduler slice for the thread that runs the emulator's front and Runtime API.

On Lambda, the function URL and the Runtime API run on AWS's machines, not on the CPU the
function streams with. Locally they share the machine with the worker and whatever feeds
it (an upstream streaming at full speed, a browser), and Linux's fair scheduler (EEVDF,
6.6 and later) lets a thread that just woke up wait for the running one's slice: on a
2-CPU machine about 1.4 ms, paid twice per answer (the front wakes for the request's first
bytes, then for the answer's). From Linux 6.12 a thread may ask for a shorter slice
(``sched_attr.sched_runtime``, 0.1 to 100 ms, no privilege needed), and the scheduler then
lets it run soon after it wakes: what ``make dev`` shows is the function's time, not the
emulator's wait for a CPU. The request is made with ``SCHED_FLAG_RESET_ON_FORK``, so the
worker processes (and threads) the front starts keep the default slice: the function is
scheduled exactly as any other process.

Best effort: anything but Linux on x86-64 or arm64, or a kernel that refuses, changes
nothing (an older kernel accepts the call and ignores the slice).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import struct
import sys
from typing import Final

__all__ = ["SLICE_NS", "prefer_latency", "thread_slice_ns"]

SLICE_NS: Final = 100_000  # the shortest slice Linux grants (0.1 ms)

# sched_setattr(2) / sched_getattr(2); Python has no binding for either.
_SETATTR: Final = {"x86_64": 314, "aarch64": 274}
_GETATTR: Final = {"x86_64": 315, "aarch64": 275}
# struct sched_attr, first version (SCHED_ATTR_SIZE_VER0): size, policy, flags, nice,
# priority, runtime, deadline, period.
_ATTR: Final = struct.Struct("=IIQiIQQQ")
_SCHED_OTHER: Final = 0
_RESET_ON_FORK: Final = 0x01


def _syscall(numbers: dict[str, int]) -> tuple[ctypes.CDLL, int] | None:
    if not sys.platform.startswith("linux"):
        return None
    number = numbers.get(os.uname().machine)
    if number is None:
        return None
    try:
        return ctypes.CDLL(None, use_errno=True), number
    except OSError:  # pragma: no cover - a Linux without a loadable libc
        return None


def prefer_latency(slice_ns: int = SLICE_NS) -> bool:
    """Ask for a ``slice_ns`` slice for the calling thread; whether the kernel took it."""
    found = _syscall(_SETATTR)
    if found is None:
        return False
    libc, number = found
    # The thread's niceness is kept (lowering it would need privileges), and so is the
    # normal policy: only the slice changes.
    nice = os.getpriority(os.PRIO_PROCESS, 0)
    attr = _ATTR.pack(_ATTR.size, _SCHED_OTHER, _RESET_ON_FORK, nice, 0, slice_ns, 0, 0)
    buffer = ctypes.create_string_buffer(attr, _ATTR.size)
    if libc.syscall(number, 0, buffer, 0) != 0:
        return False
    return thread_slice_ns() == slice_ns


def thread_slice_ns(tid: int = 0) -> int | None:
    """The slice of thread ``tid`` (0: the calling one), or ``None`` where it cannot be read."""
    found = _syscall(_GETATTR)
    if found is None:
        return None
    libc, number = found
    buffer = ctypes.create_string_buffer(_ATTR.size)
    with contextlib.suppress(OSError):
        if libc.syscall(number, tid, buffer, _ATTR.size, 0) == 0:
            runtime: int = _ATTR.unpack(buffer.raw)[5]
            return runtime
    return None
