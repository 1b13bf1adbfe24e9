"""``python -m bench.sdk_reader BASE_URL KEY``: the floor of the CPU cost, in a process of its
own: ``AsyncOpenAI`` reading the fake upstream directly, one client reused.

Commands: ``{"read": "<model>"}`` reads one streamed answer and returns its text deltas and
the CPU time this process spent on it (ns); ``{"rss": true}`` returns the peak RSS (MB).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any

from bench.child import serve_commands
from bench.proc import peak_rss_mb

__all__ = ["main"]

_MESSAGES: Any = [{"role": "user", "content": "Tell me about the quick brown fox."}]


async def _read(client: Any, model: str) -> int:
    deltas = 0
    stream = await client.chat.completions.create(
        model=model, messages=_MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    async for chunk in stream:
        for choice in chunk.choices:
            if choice.delta.content:
                deltas += 1
    return deltas


def main() -> None:
    from openai import AsyncOpenAI

    loop = asyncio.new_event_loop()
    client = AsyncOpenAI(base_url=sys.argv[1], api_key=sys.argv[2], max_retries=0)

    def handle(command: dict[str, Any]) -> Any:
        if "read" in command:
            began = time.process_time_ns()
            deltas = loop.run_until_complete(_read(client, str(command["read"])))
            return {"deltas": deltas, "cpu_ns": time.process_time_ns() - began}
        return {"rss_mb": peak_rss_mb(os.getpid())}

    try:
        serve_commands({"ready": True}, handle)
    finally:
        loop.run_until_complete(client.close())
        loop.close()


if __name__ == "__main__":
    main()
