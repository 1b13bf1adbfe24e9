"""``python -m bench.first_use``: the library's import cost, and each provider's first and
warm call through :func:`llmrelay.stream_chat`, every provider in a fresh interpreter.

The first call pays the SDK's import, its client and the first connection; the warm call
shows what is left once the client is reused. Upstreams are the loopback fakes.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

__all__ = ["main", "measure"]

PROVIDERS = {
    "echo": ("echo/echo", None),
    "openai": ("openai/gpt-4o-mini", "FakeOpenAI"),
    "anthropic": ("anthropic/claude-haiku-4-5", "FakeAnthropic"),
    "huggingface": ("huggingface/meta-llama/Llama-3.1-8B-Instruct", "FakeHuggingFace"),
    "bedrock": ("bedrock/amazon.nova-lite-v1:0", "FakeBedrock"),
}
# Bedrock signs with the process's AWS credentials: dummy ones (the fake checks none).
_AWS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
_KEYS = {
    "OPENAI_API_KEY": "sk-bench-0000000000",
    "ANTHROPIC_API_KEY": "sk-ant-bench-0000000000",
    "HF_TOKEN": "hf_bench000000000",
}


def measure(provider: str) -> str:
    """One line of figures for ``provider``, measured in this (fresh) process."""
    began = time.perf_counter()
    from llmrelay import ChatRequest, Message, stream_chat
    from llmrelay.config import Settings
    from llmrelay.secrets import StaticSecrets

    imported = time.perf_counter() - began
    model, fake_name = PROVIDERS[provider]
    request = ChatRequest(model=model, messages=[Message(role="user", content="hi there")])
    secrets = StaticSecrets(_KEYS)

    async def call(settings: Settings) -> float:
        start = time.perf_counter()
        async for _ in stream_chat(request, settings=settings, secrets=secrets):
            pass
        return time.perf_counter() - start

    async def twice(settings: Settings) -> tuple[float, float]:
        return await call(settings), await call(settings)

    if fake_name is None:
        first, warm = asyncio.run(twice(Settings.from_env({})))
    else:
        import llmrelay.testing

        with getattr(llmrelay.testing, fake_name)() as fake:
            url = fake.url if provider in ("anthropic", "bedrock") else f"{fake.url}/v1"
            if provider == "bedrock":
                os.environ.update(_AWS)
            settings = Settings.from_env({f"LLMRELAY_{provider.upper()}_BASE_URL": url})
            first, warm = asyncio.run(twice(settings))
    return (
        f"| {provider} | {imported * 1000:.0f} ms | {first * 1000:.0f} ms | {warm * 1000:.1f} ms |"
    )


def main() -> int:
    if len(sys.argv) == 2:
        print(measure(sys.argv[1]))
        return 0
    print("| provider | `import llmrelay` | first call (SDK import, client, stream) | warm call |")
    print("|---|---:|---:|---:|")
    for provider in PROVIDERS:
        done = subprocess.run(
            [sys.executable, "-m", "bench.first_use", provider],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        print(done.stdout.strip() or f"| {provider} | failed: {done.stderr.strip()[-200:]} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
