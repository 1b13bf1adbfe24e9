"""``python -m bench.upstream``: the fake upstreams and the secret, in a process of their own.

Fake OpenAI, Anthropic, Hugging Face and Bedrock servers (:mod:`llmrelay.testing`, speaking
the real wire formats) and a moto Secrets Manager holding their keys (Bedrock takes none: the
bench's dummy AWS credentials sign its calls). Commands (JSON lines on stdin):
``{"reply": {"tokens": N, "delay_ms": d}}`` sets every fake's answer; ``{"sends": true}``
returns when the OpenAI fake started writing each event of its last answer (monotonic ns,
comparable across processes on Linux).
"""

from __future__ import annotations

import asyncio
import importlib
import itertools
import json
import logging
import os
import time
from typing import Any

from bench.child import serve_commands
from llmrelay.httpd import Request, ResponseWriter
from llmrelay.testing import (
    FakeAnthropic,
    FakeBedrock,
    FakeHuggingFace,
    FakeOpenAI,
    FakeUpstream,
    Reply,
)

__all__ = ["KEYS", "REGION", "SECRET_ID", "reply_of", "words"]

SECRET_ID = "llmrelay/bench"  # noqa: S105 - a name
REGION = "us-east-1"
KEYS = {
    "OPENAI_API_KEY": "sk-bench-openai-0123456789",
    "ANTHROPIC_API_KEY": "sk-ant-bench-0123456789",
    "HF_TOKEN": "hf_bench0123456789",
}
_WORDS = ("The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ".")


def words(count: int) -> tuple[str, ...]:
    """``count`` token-sized pieces of English."""
    return tuple(itertools.islice(itertools.cycle(_WORDS), count))


def reply_of(tokens: int, delay_ms: float) -> Reply:
    return Reply(pieces=words(tokens), input_tokens=12, piece_delay_s=delay_ms / 1000)


class _StampedOpenAI(FakeOpenAI):
    """Records when it starts writing each event of the answer in progress."""

    def __init__(self, default: Reply | None = None, *, api_key: str | None = None) -> None:
        super().__init__(default, api_key=api_key)
        self.sends: list[int] = []

    async def answer(
        self, request: Request, body: Any, reply: Reply, response: ResponseWriter
    ) -> None:
        self.sends = []
        await super().answer(request, body, reply, response)

    async def write_event(self, response: ResponseWriter, data: bytes, reply: Reply) -> None:
        if reply.piece_delay_s:
            await asyncio.sleep(reply.piece_delay_s)
        self.sends.append(time.monotonic_ns())
        await response.write(data)


def _start_moto() -> tuple[Any, str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    boto3: Any = importlib.import_module("boto3")
    client = boto3.client(
        "secretsmanager",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",  # noqa: S106 - moto's dummy credentials
    )
    client.create_secret(Name=SECRET_ID, SecretString=json.dumps(KEYS))
    return server, url


def main() -> None:
    # In real life the upstream is someone else's machine: here it yields the CPU first,
    # so that on a small machine it slows the stacks being measured as little as it can.
    os.nice(10)
    reply = reply_of(500, 0)
    openai = _StampedOpenAI(reply, api_key=KEYS["OPENAI_API_KEY"])
    fakes: dict[str, FakeUpstream] = {
        "openai": openai,
        "anthropic": FakeAnthropic(reply),
        "huggingface": FakeHuggingFace(reply, api_key=KEYS["HF_TOKEN"]),
        "bedrock": FakeBedrock(reply),
    }
    for fake in fakes.values():
        fake.start()
    moto, moto_url = _start_moto()

    def handle(command: dict[str, Any]) -> Any:
        if "reply" in command:
            new = reply_of(int(command["reply"]["tokens"]), float(command["reply"]["delay_ms"]))
            for fake in fakes.values():
                fake.default = new  # read by the fake's loop when the next request comes
            return {"ok": True}
        if command.get("sends"):
            return {"sends": list(openai.sends)}
        return {"error": f"unknown command {command!r}"}

    ready = {name: fake.url for name, fake in fakes.items()}
    try:
        serve_commands({**ready, "moto": moto_url}, handle)
    finally:
        for fake in fakes.values():
            fake.stop()
        moto.stop()


if __name__ == "__main__":
    main()
