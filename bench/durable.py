"""Durable streams: DynamoDB requests and capacity units per answer, and the time to first
token with persistence on and off (``python -m bench.durable``; ``make bench`` runs it last).

In process: the gateway app with the ``echo`` provider (one token per word, at a set pace)
and DynamoDB on a moto server on loopback, reached through the same boto3 path as in AWS.
Units are counted as on-demand DynamoDB bills them, from the items' sizes: a write unit per
KB per item written, a read unit per 4 KB read with strong consistency (rounded up per item
for ``GetItem``, per answer for ``Query``). moto answers in about a millisecond; a real table
in the same region in a few, which the time-to-first-token figures do not include.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.stats import median

__all__ = ["DurableFigures", "main", "markdown", "measure_durable"]

_TABLE = "llmrelay-bench"
_SLOW_FIRST_MS = 200  # a fast model's time to first token


async def _slow_upstream(chat: Any) -> Any:
    """An answer whose first token comes after _SLOW_FIRST_MS, then three more at once."""
    from llmrelay.events import Finish, TextDelta, Usage

    await asyncio.sleep(_SLOW_FIRST_MS / 1000)
    for word in ("a ", "short ", "answer"):
        yield TextDelta(word)
    yield Finish("stop", Usage(3, 3))


@dataclass
class Usage:
    """DynamoDB calls by operation and the capacity units they would cost."""

    calls: Counter[str] = field(default_factory=Counter)
    write_units: float = 0.0
    read_units: float = 0.0

    def reset(self) -> None:
        self.calls.clear()
        self.write_units = self.read_units = 0.0


@dataclass(frozen=True)
class DurableFigures:
    tokens: int
    pace_ms: int
    calls: dict[str, int]
    write_units: float
    read_units: float
    resume_calls: dict[str, int]
    resume_read_units: float
    ttft_off_ms: float
    ttft_on_ms: float
    requests: int
    slow_off_ms: float = math.nan  # an upstream whose first token takes _SLOW_FIRST_MS
    slow_on_ms: float = math.nan


def _value_size(value: dict[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "B":
        return len(inner) if isinstance(inner, bytes) else math.ceil(len(str(inner)) * 3 / 4)
    if kind == "N":
        return len(str(inner)) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(_value_size(item) for item in inner)
    if kind == "M":
        return 3 + _item_size(inner)
    return len(json.dumps(inner))


def _item_size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it: names and values."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _track(client: Any, usage: Usage) -> None:
    """Count every call and its units with botocore's event hooks (nothing is patched)."""

    def before(params: dict[str, Any], model: Any, **_: Any) -> None:
        name = model.name
        usage.calls[name] += 1
        body = params.get("body") or b"{}"
        request = json.loads(body)
        if name == "PutItem":
            usage.write_units += math.ceil(_item_size(request["Item"]) / 1024)
        elif name == "UpdateItem":
            usage.write_units += 1  # the head: well under 1 KB
        elif name == "BatchWriteItem":
            usage.write_units += sum(len(batch) for batch in request["RequestItems"].values())

    def after(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "GetItem":
            usage.read_units += max(1, math.ceil(_item_size(parsed.get("Item", {})) / 4096))
        elif model.name == "Query":
            size = sum(_item_size(item) for item in parsed.get("Items", []))
            usage.read_units += max(1, math.ceil(size / 4096))

    client.meta.events.register("before-call.dynamodb", before)
    client.meta.events.register("after-call.dynamodb", after)


class _Context:
    aws_request_id = "bench"

    def __init__(self, remaining_ms: int = 600_000) -> None:
        self._deadline = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


async def _ask(app: Any, text: str) -> tuple[float, bytes, str]:
    """One streamed ``/chat``: time to the first delta (ms), the body, the stream id."""
    from llmrelay.http import HttpRequest

    body = json.dumps({"messages": [{"role": "user", "content": text}]}).encode()
    began = time.perf_counter()
    response = await app(HttpRequest("POST", "/chat", body=body), _Context())
    first = math.nan
    chunks: list[bytes] = []
    async for chunk in response.body:
        if math.isnan(first) and b"event: delta" in chunk:
            first = (time.perf_counter() - began) * 1000
        chunks.append(chunk)
    return first, b"".join(chunks), response.headers.get("x-llmrelay-stream-id", "")


async def measure_durable(
    tokens: int, pace_ms: int, requests: int, moto_url: str
) -> DurableFigures:
    import boto3  # type: ignore[import-untyped,unused-ignore]

    from llmrelay.durable import DynamoStore
    from llmrelay.durable.table import create_table
    from llmrelay.gateway import Durability, GatewayOptions, build_app
    from llmrelay.http import HttpRequest

    client = boto3.client("dynamodb", endpoint_url=moto_url)
    create_table(client, _TABLE)
    usage = Usage()
    _track(client, usage)
    options = GatewayOptions(ping_interval_ms=0)
    on = build_app(options=options, durability=Durability(DynamoStore(_TABLE, client=client)))
    off = build_app(options=options, durability=False)
    words = " ".join(f"w{n}" for n in range(tokens))
    os.environ["LLMRELAY_ECHO_DELAY_MS"] = str(pace_ms)
    usage.reset()
    _, body, stream_id = await _ask(on, words)
    assert body.count(b"event: delta") == tokens, "the answer lost tokens"
    answer = Usage(Counter(usage.calls), usage.write_units, usage.read_units)
    usage.reset()
    resumed = await on(HttpRequest("GET", f"/chat/{stream_id}"), _Context())
    replayed = b"".join([chunk async for chunk in resumed.body])  # type: ignore[union-attr]
    assert replayed == body, "the replay is not byte-exact"
    resume = Usage(Counter(usage.calls), usage.write_units, usage.read_units)
    os.environ["LLMRELAY_ECHO_DELAY_MS"] = "0"
    ttft: dict[str, list[float]] = {"on": [], "off": []}
    for _ in range(requests):  # interleaved, so that load moves both alike
        for name, app in (("off", off), ("on", on)):
            first, _, _ = await _ask(app, "a short answer of a few words")
            ttft[name].append(first)
    durability = Durability(DynamoStore(_TABLE, client=client))
    slow_on = build_app(options=options, durability=durability, stream=_slow_upstream)
    slow_off = build_app(options=options, durability=False, stream=_slow_upstream)
    slow: dict[str, list[float]] = {"on": [], "off": []}
    for _ in range(max(3, requests // 4)):
        for name, app in (("off", slow_off), ("on", slow_on)):
            first, _, _ = await _ask(app, "anything")
            slow[name].append(first)
    await asyncio.sleep(0.5)  # the last writers' ends
    return DurableFigures(
        tokens,
        pace_ms,
        dict(answer.calls),
        answer.write_units,
        answer.read_units,
        dict(resume.calls),
        resume.read_units,
        median(ttft["off"]),
        median(ttft["on"]),
        requests,
        median(slow["off"]),
        median(slow["on"]),
    )


def markdown(figures: DurableFigures) -> str:
    calls = ", ".join(f"{name} {count}" for name, count in sorted(figures.calls.items()))
    resume = ", ".join(f"{name} {count}" for name, count in sorted(figures.resume_calls.items()))
    seconds = figures.tokens * figures.pace_ms / 1000
    return "\n".join(
        [
            f"### Durable streams ({figures.tokens}-token answer, one token every"
            f" {figures.pace_ms} ms, {seconds:.1f} s)",
            "",
            "| figure | value |",
            "|---|---|",
            f"| DynamoDB calls while it streams | {sum(figures.calls.values())} ({calls}) |",
            f"| write units | {figures.write_units:.0f} |",
            f"| read units (stop checks) | {figures.read_units:.0f} |",
            f"| a whole replay afterwards | {resume}; {figures.resume_read_units:.0f} read units |",
            f"| time to first token, persistence off (median of {figures.requests}) |"
            f" {figures.ttft_off_ms:.1f} ms |",
            f"| time to first token, persistence on | {figures.ttft_on_ms:.1f} ms"
            f" (+{figures.ttft_on_ms - figures.ttft_off_ms:.1f} ms: the head's write) |",
            f"| the same with an upstream that takes {_SLOW_FIRST_MS} ms to its first token,"
            f" off / on | {figures.slow_off_ms:.1f} / {figures.slow_on_ms:.1f} ms"
            f" (+{figures.slow_on_ms - figures.slow_off_ms:.1f} ms: written meanwhile) |",
            "",
        ]
    )


def _moto() -> Any:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    return server


def run(tokens: int = 1000, pace_ms: int = 10, requests: int = 20) -> DurableFigures:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ[name] = "bench"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    server = _moto()
    try:
        host, port = server.get_host_and_port()
        return asyncio.run(measure_durable(tokens, pace_ms, requests, f"http://{host}:{port}"))
    finally:
        server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.durable", description=__doc__)
    parser.add_argument("--tokens", type=int, default=1000, help="tokens per answer (1000)")
    parser.add_argument("--pace-ms", type=int, default=10, help="ms between tokens (10)")
    parser.add_argument("--requests", type=int, default=20, help="TTFT samples per side (20)")
    args = parser.parse_args(argv)
    print(markdown(run(args.tokens, args.pace_ms, args.requests)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
