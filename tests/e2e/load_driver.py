"""The load test's client, run as a process of its own so that what it measures is the
emulator, not the test runner: under ``make test`` the runner is traced by coverage, which
slows a client of 64 streams enough to stagger its requests by seconds.

``python -m tests.e2e.load_driver <url> <streams> <words>`` starts ``streams`` workers,
half at a time (see :func:`start_workers`), then sends ``streams`` chat requests at once,
each with a prompt of its own (:func:`prompt`), and prints one JSON document: the time the
workers took to start, and for each stream of both waves its prompt, status, worker, raw
body (base64) and timings. The test checks them (``tests/e2e/test_load.py``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import time
from typing import Any

import httpx
from tests.e2e.timed_stream import TimedStream, post_timed

__all__ = ["prompt", "start_workers", "wave"]

_WARM_UP_WORDS = 16  # long enough to keep a worker busy while the rest of a wave arrives


def prompt(index: int, words: int) -> str:
    """A prompt no other stream has, with multi-byte text and a line break in it."""
    middle = " ".join(f"s{index:02d}w{n}" for n in range(words - 4))
    return f"stream {index:02d}: {middle}\nnaïve café 🙂 end-{index:02d}"


def _record(text: str, stream: TimedStream) -> dict[str, Any]:
    return {
        "prompt": text,
        "status": stream.status,
        "worker": stream.worker,
        "body": base64.b64encode(stream.body).decode("ascii"),
        "head_s": stream.head_s,
        "first_text_s": stream.first_text_s,
        "end_s": stream.end_s,
    }


async def wave(client: httpx.AsyncClient, url: str, count: int, words: int) -> list[dict[str, Any]]:
    """``count`` chat streams sent at once, each with its own prompt of ``words`` pieces."""

    async def one(index: int) -> dict[str, Any]:
        text = prompt(index, words)
        body = {"messages": [{"role": "user", "content": text}]}
        return _record(text, await post_timed(client, f"{url}/chat", body))

    return await asyncio.gather(*(one(index) for index in range(count)))


async def start_workers(client: httpx.AsyncClient, url: str, count: int) -> list[dict[str, Any]]:
    """Start ``count`` workers, half at a time, so that no cold start waits on all the
    others: half come up for as many ``/health`` calls at once; then ``count`` streams go
    out at once, and while the warm half is busy with theirs, the other half each start a
    worker. The streams of that second wave are returned."""
    answers = await asyncio.gather(*(client.get(f"{url}/health") for _ in range(count // 2)))
    assert {answer.status_code for answer in answers} == {200}
    return await wave(client, url, count, _WARM_UP_WORDS)


async def _main(url: str, count: int, words: int) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        started = time.monotonic()
        warm_up = await start_workers(client, url, count)
        warm_up_s = time.monotonic() - started
        started = time.monotonic()
        measured = await wave(client, url, count, words)
        total_s = time.monotonic() - started
    return {"warm_up_s": warm_up_s, "total_s": total_s, "warm_up": warm_up, "measured": measured}


if __name__ == "__main__":
    target, streams, pieces = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    print(json.dumps(asyncio.run(_main(target, streams, pieces))))
