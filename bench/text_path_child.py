"""The measuring side of :mod:`bench.text_path`, run in a child process against whichever
llmrelay is first on its ``sys.path`` (the text-only version or the content-block one).

It uses only what both versions have: ``stream_chat``, ``ChatRequest``, ``Message``,
``TextDelta``, ``Settings.from_env``, ``StaticSecrets`` and the two encoders
(``encode_native``, ``encode_chunks``). The upstreams are ``llmrelay.testing`` fakes served
by the parent, so this process's CPU time is the adapter, its SDK and the encoders only.

``python -m bench.text_path_child '<json plan>'`` prints one JSON line of figures.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

__all__ = ["KEYS", "MODELS", "VARIANTS", "main", "measure"]

MODELS = {"openai": "openai/gpt-4o-mini", "anthropic": "anthropic/claude-haiku-4-5"}
KEYS = {"OPENAI_API_KEY": "sk-bench-0000000000", "ANTHROPIC_API_KEY": "sk-ant-bench-0000000000"}
# stream_chat alone (adapter + SDK), then stream_chat through each client dialect's encoder.
VARIANTS = ("stream_chat", "native", "openai")


def _settings(provider: str, url: str) -> Any:
    from llmrelay.config import Settings

    base = url if provider == "anthropic" else f"{url}/v1"
    return Settings.from_env({f"LLMRELAY_{provider.upper()}_BASE_URL": base})


async def _texts(events: AsyncIterator[Any], seen: list[int]) -> AsyncIterator[Any]:
    from llmrelay import TextDelta

    async for event in events:
        if isinstance(event, TextDelta) and event.text:
            seen[0] += 1
        yield event


async def _drain(variant: str, provider: str, settings: Any, secrets: Any) -> tuple[int, int]:
    """One warm request read to its end: (text deltas seen, bytes the encoder made)."""
    from llmrelay import ChatRequest, Message, stream_chat
    from llmrelay.protocols.base import StreamMeta
    from llmrelay.protocols.native import encode_native
    from llmrelay.protocols.openai import Completion, encode_chunks

    model = MODELS[provider]
    request = ChatRequest(model=model, messages=[Message(role="user", content="hi there")])
    seen = [0]
    events = _texts(stream_chat(request, settings=settings, secrets=secrets), seen)
    meta = StreamMeta(id="bench", provider=provider, model=model, created=0)
    size = 0
    if variant == "stream_chat":
        async for _ in events:
            pass
    elif variant == "native":
        async for frame in encode_native(meta, events, started=time.monotonic()):
            size += len(frame)
    else:
        async for frame in encode_chunks(Completion(meta, include_usage=True), events):
            size += len(frame)
    return seen[0], size


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


async def _run(plan: dict[str, Any]) -> dict[str, Any]:
    from llmrelay.secrets import StaticSecrets

    secrets = StaticSecrets(KEYS)
    chunks: int = plan["chunks"]
    cpu: dict[str, list[float]] = {}
    checks: dict[str, list[int]] = {}
    for repeat in range(plan["warmup"] + plan["repeats"]):
        for provider, urls in plan["upstreams"].items():
            jobs = [(variant, urls["long"], chunks) for variant in VARIANTS]
            jobs.append(("request", urls["short"], 1))
            for variant, url, expected in jobs:
                settings = _settings(provider, url)
                kind = "stream_chat" if variant == "request" else variant
                began = time.process_time()
                texts, size = await _drain(kind, provider, settings, secrets)
                spent = time.process_time() - began
                if texts != expected:
                    raise RuntimeError(f"{provider} {variant}: {texts} text deltas, not {expected}")
                if repeat >= plan["warmup"]:
                    cpu.setdefault(f"{provider}.{variant}", []).append(spent)
                    checks[f"{provider}.{variant}"] = [texts, size]
    figures: dict[str, float] = {}
    for name, spent_list in cpu.items():
        if name.endswith(".request"):
            figures[name] = _median(spent_list) * 1e3  # ms per warm one-chunk request
        else:
            figures[name] = _median(spent_list) / chunks * 1e6  # µs per chunk
    return {"figures": figures, "checks": checks}


def measure(plan: dict[str, Any]) -> dict[str, Any]:
    """CPU figures for ``plan``: ``chunks``, ``warmup``, ``repeats`` and, per provider, the
    ``long`` (``chunks`` pieces) and ``short`` (one piece) fakes' URLs."""
    import llmrelay

    result = asyncio.run(_run(plan))
    result["llmrelay"] = llmrelay.__file__
    return result


def main() -> int:
    print(json.dumps(measure(json.loads(sys.argv[1]))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
