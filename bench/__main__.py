"""``python -m bench`` (``make bench``): see :mod:`bench` and ``--help``."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.child import Child
from bench.client import SdkReader, SseClient
from bench.cold import MODELS, measure_cold, measure_fastapi_cold
from bench.cost import CostFigures, measure_cost
from bench.layer import build_layer
from bench.report import Results, markdown, to_json
from bench.restore import RestoreFigures, measure_restore, snapshot_environment
from bench.scenarios import Run, WarmPlan, measure
from bench.upstream import KEYS, REGION, SECRET_ID

__all__ = ["main"]

_SCRUBBED_PREFIXES = ("LLMRELAY_", "AWS_", "POWERTOOLS_", "OPENAI_", "ANTHROPIC_")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--tokens", type=int, default=500, help="tokens per answer (500)")
    parser.add_argument("--requests", type=int, default=60, help="measured requests (60)")
    parser.add_argument("--pace-ms", type=float, default=3.0, help="paced: ms apart (3)")
    parser.add_argument("--paced-tokens", type=int, default=100, help="paced: tokens (100)")
    parser.add_argument("--paced-requests", type=int, default=10, help="paced: requests (10)")
    parser.add_argument("--cold-rounds", type=int, default=5, help="cold starts per side (5)")
    parser.add_argument("--quick", action="store_true", help="fewer rounds of everything")
    parser.add_argument("--cost-requests", type=int, default=20, help="CPU rows: requests (20)")
    parser.add_argument("--skip-cold", action="store_true", help="no cold-start rows")
    parser.add_argument("--skip-restore", action="store_true", help="no SnapStart restore rows")
    parser.add_argument("--skip-cost", action="store_true", help="no CPU-per-chunk rows")
    parser.add_argument("--skip-layer", action="store_true", help="do not build the layer")
    parser.add_argument(
        "--skip-durable", action="store_true", help="no durable-stream rows (DynamoDB on moto)"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results")
    return parser


def _environment(ready: dict[str, str]) -> dict[str, str]:
    """What every stack is given: the fakes' URLs and the secret in moto; nothing from the
    developer's shell that could point anything at a real provider or AWS."""
    for name in list(os.environ):
        if name.startswith(_SCRUBBED_PREFIXES) or name in ("HF_TOKEN", "PYTHONDONTWRITEBYTECODE"):
            del os.environ[name]
    return {
        "LLMRELAY_OPENAI_BASE_URL": ready["openai"] + "/v1",
        "LLMRELAY_ANTHROPIC_BASE_URL": ready["anthropic"],
        "LLMRELAY_HUGGINGFACE_BASE_URL": ready["huggingface"] + "/v1",
        "OPENAI_BASE_URL": ready["openai"] + "/v1",  # the FastAPI relay's
        "LLMRELAY_SECRET_ID": SECRET_ID,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": ready["moto"],
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": ready["bedrock"],
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


async def _warm(
    args: argparse.Namespace, upstream: Child, emulator: Child, fastapi: Child
) -> tuple[Run, Run]:
    """The full-speed then the paced round of the three stacks, on kept-alive connections."""
    sdk = SdkReader(upstream.ready["openai"] + "/v1", KEYS["OPENAI_API_KEY"])
    ours = SseClient("127.0.0.1", int(emulator.ready["port"]))
    theirs = SseClient("127.0.0.1", int(fastapi.ready["port"]))
    model = MODELS["openai"]
    readers = {
        "sdk": lambda: sdk.chat(model.partition("/")[2]),
        "llmrelay": lambda: ours.chat(model),
        "fastapi": lambda: theirs.chat(model),
    }
    quick = args.quick
    try:
        progress("warm, full speed")
        requests = 12 if quick else args.requests
        plan = WarmPlan(args.tokens, requests, warmup=2 if quick else 5)
        full = await measure(plan, readers, upstream, emulator)
        progress("warm, paced")
        requests = 3 if quick else args.paced_requests
        plan = WarmPlan(args.paced_tokens, requests, args.pace_ms, warmup=1)
        paced = await measure(plan, readers, upstream, emulator)
    finally:
        for client in (sdk, ours, theirs):
            await client.close()
    return full, paced


async def _cost(
    args: argparse.Namespace, upstream: Child, emulator: Child, fastapi: Child
) -> CostFigures:
    progress("CPU per chunk")
    base = upstream.ready["openai"] + "/v1"
    with Child("bench.sdk_reader", base, KEYS["OPENAI_API_KEY"]) as sdk:
        requests = 5 if args.quick else args.cost_requests
        return await measure_cost(args.tokens, requests, upstream, emulator, fastapi, sdk)


async def _restore(env: dict[str, str], rounds: int) -> dict[str, RestoreFigures]:
    progress("SnapStart restores")
    with Child("bench.emulator", "--snap-start", env=snapshot_environment(env)) as emulator:
        return await measure_restore(emulator, rounds)


async def _run(args: argparse.Namespace, command: str) -> Results:
    rounds = 1 if args.quick else args.cold_rounds
    cold = fastapi_cold = cost = restore = None
    with Child("bench.upstream") as upstream:
        env = _environment(upstream.ready)
        with (
            Child("bench.emulator", env=env) as emulator,
            Child("bench.fastapi_relay", env=env) as fastapi,
        ):
            full, paced = await _warm(args, upstream, emulator, fastapi)
            if not args.skip_cost:
                cost = await _cost(args, upstream, emulator, fastapi)
        if not args.skip_cold or not args.skip_restore:
            # An upstream with a little latency: the worker idles after its first delta,
            # so its CPU time read at that moment is the start's.
            upstream.call(reply={"tokens": 20, "delay_ms": 3})
        if not args.skip_restore:
            restore = await _restore(env, rounds)
        if not args.skip_cold:
            progress("cold starts")
            with Child("bench.emulator", env=env) as emulator:
                cold = await measure_cold(emulator, int(emulator.ready["port"]), env, rounds)
            fastapi_cold = await measure_fastapi_cold(env, rounds)
    layer = None
    if not args.skip_layer:
        progress("building the layer")
        layer = build_layer()
    return Results(full, paced, cold, fastapi_cold, layer, command, cost, restore)


def progress(what: str) -> None:
    print(f"bench: {what}...", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = " ".join(["python -m bench", *(sys.argv[1:] if argv is None else argv)])
    results = asyncio.run(_run(args, command))
    print(markdown(results))
    if not args.skip_durable:
        from bench.durable import markdown as durable_markdown
        from bench.durable import run as run_durable

        progress("durable streams")
        print(durable_markdown(run_durable(requests=5 if args.quick else 20)))
    if args.json is not None:
        args.json.write_text(json.dumps(to_json(results), indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
