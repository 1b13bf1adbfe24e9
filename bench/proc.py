"""What ``/proc`` says of another process: its CPU time (every thread's, in nanoseconds, from
the scheduler's own accounting) and its peak resident memory."""

from __future__ import annotations

import math
from pathlib import Path

__all__ = ["cpu_ns", "peak_rss_mb"]


def cpu_ns(pid: int) -> int:
    """The CPU time all of ``pid``'s threads have run so far (``schedstat``, ns)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):  # a thread that just ended
            continue
    return total


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return math.nan
