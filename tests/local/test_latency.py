"""The short scheduler slice of the emulator's serving thread, read back from the kernel: the
thread that asks gets it, other threads and the processes it starts keep the default."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

import pytest

from llmrelay.local import latency
from llmrelay.local.latency import SLICE_NS, prefer_latency, thread_slice_ns


def _kernel_takes_slices() -> bool:
    """Linux 6.12 or later on x86-64 or arm64: where sched_attr.sched_runtime is a slice."""
    if not sys.platform.startswith("linux") or os.uname().machine not in ("x86_64", "aarch64"):
        return False
    release = os.uname().release.split("-")[0].split(".")
    return tuple(int(part) for part in release[:2] if part.isdigit()) >= (6, 12)


T = TypeVar("T")
needs_slices = pytest.mark.skipif(not _kernel_takes_slices(), reason="needs Linux 6.12+")


def _in_a_thread(action: Callable[[], T]) -> T:
    result: list[T] = []
    thread = threading.Thread(target=lambda: result.append(action()))
    thread.start()
    thread.join(10)
    return result[0]


def _default_slice() -> int | None:
    """A new thread's slice: the default (the flag resets it in every thread and process a
    thread that asked for the short slice creates; a test's gateway may have asked in this
    one)."""
    return _in_a_thread(thread_slice_ns)


@needs_slices
def test_the_thread_that_asks_gets_the_short_slice_and_no_other() -> None:
    def ask() -> tuple[int | None, bool, int | None]:
        return thread_slice_ns(), prefer_latency(), thread_slice_ns()

    before, took, after = _in_a_thread(ask)
    assert before is not None
    assert before != SLICE_NS
    assert (took, after) == (True, SLICE_NS)
    assert _default_slice() == before  # a thread made afterwards was not touched


@needs_slices
def test_a_process_it_starts_keeps_the_default_slice() -> None:
    def start_a_child() -> tuple[int | None, int | None]:
        assert prefer_latency()
        child = subprocess.Popen(
            [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
        )
        try:
            return thread_slice_ns(), thread_slice_ns(child.pid)
        finally:
            child.communicate(b"")

    own, child = _in_a_thread(start_a_child)
    assert own == SLICE_NS
    assert child is not None
    assert child != SLICE_NS
    assert child == _default_slice()


def test_where_the_call_does_not_exist_nothing_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(latency, "_SETATTR", {})
    monkeypatch.setattr(latency, "_GETATTR", {})
    before = os.getpriority(os.PRIO_PROCESS, 0)
    assert prefer_latency() is False
    assert thread_slice_ns() is None
    assert os.getpriority(os.PRIO_PROCESS, 0) == before
