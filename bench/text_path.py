"""``python -m bench.text_path --before TREE --after TREE``: the text path's cost in two
checkouts of this repository, side by side (e.g. the text-only code and the content-block one).

Each round runs, for each tree in turn (A/B, then B/A, to cancel the machine's drift), fresh
interpreters with that tree's ``layers/llmrelay`` and ``functions/chat`` first on the path:

- import time (wall and CPU) of ``llmrelay`` and of ``app`` (the function's cold init);
- a cold first call: ``import app`` then one ``stream_chat`` through openai or anthropic
  (the adapter's and the SDK's import, the client, one short stream);
- llmrelay's own modules' import time under ``-X importtime`` (their self time: the SDKs and
  the standard library, shared by both trees, left out);
- warm CPU per text chunk (:mod:`bench.text_path_child`): each provider's SDK parsing a fake
  upstream's stream of ``--chunks`` pieces through ``stream_chat``, alone and through the
  native and the OpenAI encoder; and the CPU of a warm one-chunk request.

The fakes (``llmrelay.testing``, from the tree this runs from) live in this process, so the
children's CPU is theirs alone. Both trees are byte-compiled first, as the layer ships.
Reported: the median of the rounds, their range, and the ratio after ÷ before.
"""

from __future__ import annotations

import argparse
import ast
import compileall
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

from bench.stats import median
from bench.text_path_child import KEYS, MODELS

__all__ = ["Figures", "main", "own_import_ms", "table"]

Figures = dict[str, list[float]]  # metric -> one value per round
HERE = Path(__file__).resolve().parent.parent
_SCRUBBED = ("LLMRELAY_", "AWS_", "POWERTOOLS_", "OPENAI_", "ANTHROPIC_", "HF_")

_IMPORT = """import time
w = time.perf_counter(); c = time.process_time()
import {module}
print(repr([(time.perf_counter() - w) * 1e3, (time.process_time() - c) * 1e3]))
"""
_FIRST_CALL = """import time
w = time.perf_counter(); c = time.process_time()
import app
import asyncio
from llmrelay import ChatRequest, Message, stream_chat
from llmrelay.config import Settings
from llmrelay.secrets import StaticSecrets
async def first(model, variable, url):
    request = ChatRequest(model=model, messages=[Message(role="user", content="hi")])
    settings = Settings.from_env({{variable: url}})
    async for _ in stream_chat(request, settings=settings, secrets=StaticSecrets({keys!r})):
        pass
for call in {calls!r}:
    asyncio.run(first(*call))
print(repr([(time.perf_counter() - w) * 1e3, (time.process_time() - c) * 1e3]))
"""


def _environment(tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED)}
    env.pop("HF_TOKEN", None)
    paths = [tree / "layers" / "llmrelay", tree / "functions" / "chat", HERE]
    env["PYTHONPATH"] = os.pathsep.join(str(path) for path in paths)
    return env


def _python(tree: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, *args],
        env=_environment(tree),
        cwd=HERE,  # not the tree: `-m` puts the working directory first on the path
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{tree}: {args[:2]} failed: {done.stderr[-2000:]}")
    return done


def _pair(tree: Path, code: str) -> list[float]:
    last = _python(tree, ["-c", code]).stdout.strip().splitlines()[-1]
    value: list[float] = ast.literal_eval(last)
    return value


def own_import_ms(importtime: str) -> float:
    """The self time of llmrelay's modules and ``app`` in ``-X importtime`` output, in ms."""
    total = 0
    for line in importtime.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        fields = line[len("import time:") :].split("|")
        name = fields[2].strip()
        if (name == "app" or name.split(".")[0] == "llmrelay") and fields[0].strip().isdigit():
            total += int(fields[0])
    return total / 1e3


def _calls(upstreams: dict[str, dict[str, str]], only: str | None = None) -> list[list[str]]:
    calls = []
    for provider, urls in upstreams.items():
        if only in (None, provider):
            base = urls["short"] if provider == "anthropic" else urls["short"] + "/v1"
            calls.append([MODELS[provider], f"LLMRELAY_{provider.upper()}_BASE_URL", base])
    return calls


def one_round(tree: Path, upstreams: dict[str, dict[str, str]], plan: dict[str, object]) -> Figures:
    """Every figure of one tree, once (fresh processes)."""
    out: Figures = {}
    for module in ("llmrelay", "app"):
        wall, cpu = _pair(tree, _IMPORT.format(module=module))
        out[f"import {module} (wall ms)"], out[f"import {module} (CPU ms)"] = [wall], [cpu]
    for provider in upstreams:
        code = _FIRST_CALL.format(keys=KEYS, calls=_calls(upstreams, provider))
        wall, cpu = _pair(tree, code)
        out[f"cold: import app + first {provider} call (wall ms)"] = [wall]
        out[f"cold: import app + first {provider} call (CPU ms)"] = [cpu]
    code = _FIRST_CALL.format(keys=KEYS, calls=_calls(upstreams))
    done = _python(tree, ["-X", "importtime", "-c", code])
    out["llmrelay's own modules, all of the above (-X importtime self, wall ms)"] = [
        own_import_ms(done.stderr)
    ]
    child = _python(tree, ["-m", "bench.text_path_child", json.dumps(plan)])
    result = json.loads(child.stdout.strip().splitlines()[-1])
    if not str(result["llmrelay"]).startswith(str(tree)):
        raise RuntimeError(f"{tree}: the child imported {result['llmrelay']}")
    for name, value in result["figures"].items():
        provider, variant = name.split(".")
        if variant == "request":
            out[f"warm {provider} one-chunk request (CPU ms)"] = [value]
        else:
            out[f"warm {provider} {variant} (CPU µs/chunk)"] = [value]
    return out


def table(before: Figures, after: Figures) -> str:
    """Markdown: each metric's median [range] per tree and after ÷ before (medians, and the
    range of the per-round ratios, which cancel the drift between rounds)."""
    lines = [
        "| metric | before: median [min-max] | after: median [min-max] | after ÷ before |"
        " per-round ratio range |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, old in before.items():
        new = after[name]
        ratios = [b / a for a, b in zip(old, new, strict=True) if a]
        cells = []
        for values in (old, new):
            cells.append(f"{median(values):.2f} [{min(values):.2f}-{max(values):.2f}]")
        ratio = median(new) / median(old) if median(old) else float("nan")
        lines.append(
            f"| {name} | {cells[0]} | {cells[1]} | {ratio:.3f}x "
            f"| {min(ratios):.3f}-{max(ratios):.3f} |"
        )
    return "\n".join(lines)


def _orders(rounds: int) -> Iterator[tuple[str, str]]:
    for number in range(rounds):
        yield ("before", "after") if number % 2 == 0 else ("after", "before")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.text_path", description=__doc__)
    parser.add_argument("--before", type=Path, required=True, help="a checkout (repo root)")
    parser.add_argument("--after", type=Path, default=HERE, help="a checkout (default: this)")
    parser.add_argument("--rounds", type=int, default=6, help="alternated rounds (6)")
    parser.add_argument("--chunks", type=int, default=2000, help="text chunks per answer (2000)")
    parser.add_argument("--repeats", type=int, default=5, help="warm requests per round (5)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every value")
    args = parser.parse_args(argv)
    from llmrelay.testing import FakeAnthropic, FakeOpenAI, Reply

    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    for tree in trees.values():
        for folder in ("layers/llmrelay", "functions/chat"):
            compileall.compile_dir(tree / folder, quiet=1)
    long = Reply(pieces=tuple(f"tok{number} " for number in range(args.chunks)))
    short = Reply(pieces=("hi",))
    results: dict[str, Figures] = {"before": {}, "after": {}}
    with ExitStack() as stack:
        upstreams: dict[str, dict[str, str]] = {}
        for provider, fake in (("openai", FakeOpenAI), ("anthropic", FakeAnthropic)):
            urls = [stack.enter_context(fake(reply)).url for reply in (long, short)]
            upstreams[provider] = {"long": urls[0], "short": urls[1]}
        plan = {"chunks": args.chunks, "warmup": 2, "repeats": args.repeats}
        plan["upstreams"] = upstreams
        for number, order in enumerate(_orders(args.rounds), 1):
            for side in order:
                print(f"round {number}/{args.rounds}: {side}", file=sys.stderr, flush=True)
                for name, values in one_round(trees[side], upstreams, plan).items():
                    results[side].setdefault(name, []).extend(values)
    print(f"before: {trees['before']}\nafter: {trees['after']}\n")
    print(table(results["before"], results["after"]))
    if args.json:
        named = {side: str(tree) for side, tree in trees.items()}
        args.json.write_text(json.dumps({"trees": named, **results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
