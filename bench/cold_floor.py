"""``python -m bench.cold_floor PROVIDER``: the floor of a cold start, in a fresh process.

What any Lambda function that streams from this provider must do at least: start Python,
fetch the key from Secrets Manager with boto3, import the provider's SDK and read the
stream (Bedrock: no key, a boto3 ``bedrock-runtime`` client and ``converse_stream``).
Prints one JSON line: when the first text delta arrived (``time.monotonic_ns()``) and the
process's peak RSS. ``echo`` has no SDK and no key: its floor is Python itself.
"""

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

__all__ = ["main"]

_MESSAGES: Any = [{"role": "user", "content": "Tell me about the quick brown fox."}]


def _key(name: str) -> str:
    import boto3  # type: ignore[import-untyped]

    client = boto3.client("secretsmanager")
    secret = client.get_secret_value(SecretId=os.environ["LLMRELAY_SECRET_ID"])
    value: str = json.loads(secret["SecretString"])[name]
    return value


async def _openai() -> AsyncIterator[str]:
    key = _key("OPENAI_API_KEY")
    from openai import AsyncOpenAI

    client = AsyncOpenAI(
        base_url=os.environ["LLMRELAY_OPENAI_BASE_URL"], api_key=key, max_retries=0
    )
    stream = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=_MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    async for chunk in stream:
        for choice in chunk.choices:
            if choice.delta.content:
                yield choice.delta.content


async def _anthropic() -> AsyncIterator[str]:
    key = _key("ANTHROPIC_API_KEY")
    from anthropic import AsyncAnthropic

    client = AsyncAnthropic(
        base_url=os.environ["LLMRELAY_ANTHROPIC_BASE_URL"], api_key=key, max_retries=0
    )
    # The SDK's raw event stream, as llmrelay reads it: the messages.stream() helper costs more
    # (it rebuilds the whole message on every event), and a floor is the least any function does.
    stream = await client.messages.create(
        model="claude-sonnet-4-5", max_tokens=1024, messages=_MESSAGES, stream=True
    )
    async for event in stream:
        if event.type == "content_block_delta" and event.delta.type == "text_delta":
            yield event.delta.text


async def _huggingface() -> AsyncIterator[str]:
    key = _key("HF_TOKEN")
    from huggingface_hub import AsyncInferenceClient

    client = AsyncInferenceClient(base_url=os.environ["LLMRELAY_HUGGINGFACE_BASE_URL"], api_key=key)
    chunks = await client.chat_completion(
        _MESSAGES, model="meta-llama/Llama-3.1-8B-Instruct", stream=True
    )
    async for chunk in chunks:
        for choice in chunk.choices:
            if choice.delta.content:
                yield choice.delta.content


async def _bedrock() -> AsyncIterator[str]:
    import boto3
    from botocore.config import Config  # type: ignore[import-untyped]

    config = Config(retries={"total_max_attempts": 1, "mode": "standard"})
    client = boto3.client("bedrock-runtime", config=config)
    response = client.converse_stream(
        modelId="us.anthropic.claude-haiku-4-5-20251001-v1:0",
        messages=[{"role": "user", "content": [{"text": _MESSAGES[0]["content"]}]}],
    )
    for event in response["stream"]:  # blocking, as the floor may: nothing else runs here
        text = event.get("contentBlockDelta", {}).get("delta", {}).get("text")
        if text:
            yield text


async def _echo() -> AsyncIterator[str]:
    for word in _MESSAGES[-1]["content"].split():
        yield word


_STREAMS = {
    "openai": _openai,
    "anthropic": _anthropic,
    "huggingface": _huggingface,
    "bedrock": _bedrock,
    "echo": _echo,
}


async def _first_delta(provider: str) -> tuple[int, float]:
    """When the first text delta arrived, and the CPU time spent by then (ms)."""
    first, cpu_ms = 0, 0.0
    async for text in _STREAMS[provider]():
        if text and not first:
            first, cpu_ms = time.monotonic_ns(), time.process_time() * 1000
    return first, cpu_ms


def _peak_rss_kb() -> int:
    # Not ru_maxrss: Linux carries it over exec from the forked parent (the bench).
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main() -> None:
    first, cpu_ms = asyncio.run(_first_delta(sys.argv[1]))
    print(json.dumps({"first": first, "cpu_ms": cpu_ms, "rss_kb": _peak_rss_kb()}), flush=True)


if __name__ == "__main__":
    main()
