"""``python -m bench.fastapi_relay``: the relay most Python users deploy instead (what the
Lambda Web Adapter runs): FastAPI + sse-starlette behind uvicorn, relaying the same
``AsyncOpenAI`` stream as llmrelay's native ``/chat`` dialect (``meta``, ``delta``, ``done``).

Written the way its documentation suggests, and given the same advantages as llmrelay:
one SDK client reused across requests, the SDK's own retries off, no access log.
``OPENAI_BASE_URL`` comes from the environment; the key is fetched from Secrets Manager
(``LLMRELAY_SECRET_ID``) with boto3 when the app starts, as such apps usually do.
"""

import json
import os
import socket
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI
    from openai import AsyncOpenAI

__all__ = ["create_app", "main"]


def _key() -> str:
    import boto3  # type: ignore[import-untyped]

    secrets = boto3.client("secretsmanager")
    secret = secrets.get_secret_value(SecretId=os.environ["LLMRELAY_SECRET_ID"])
    value: str = json.loads(secret["SecretString"])["OPENAI_API_KEY"]
    return value


def create_app() -> "FastAPI":
    """The app (a factory, so that importing this module does nothing)."""
    from fastapi import FastAPI
    from openai import AsyncOpenAI
    from pydantic import BaseModel
    from sse_starlette import EventSourceResponse

    class Message(BaseModel):
        role: str
        content: str

    class ChatBody(BaseModel):
        model: str
        messages: list[Message]

    client = AsyncOpenAI(base_url=os.environ["OPENAI_BASE_URL"], api_key=_key(), max_retries=0)
    app = FastAPI()

    @app.post("/chat")
    async def chat(body: ChatBody) -> EventSourceResponse:
        messages: Any = [m.model_dump() for m in body.messages]
        return EventSourceResponse(_events(client, body.model, messages))

    return app


async def _events(
    client: "AsyncOpenAI", model: str, messages: Any
) -> AsyncIterator[dict[str, str]]:
    provider, _, name = model.partition("/")
    started = time.monotonic()
    meta = {"id": "bench", "provider": provider, "model": model, "created": int(time.time())}
    yield {"event": "meta", "data": json.dumps(meta)}
    stream = await client.chat.completions.create(
        model=name,
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},
    )
    usage: dict[str, int] = {}
    reason = None
    async for chunk in stream:
        if chunk.usage is not None:
            usage = {
                "input_tokens": chunk.usage.prompt_tokens,
                "output_tokens": chunk.usage.completion_tokens,
            }
        for choice in chunk.choices:
            if choice.delta.content:
                yield {"event": "delta", "data": json.dumps({"text": choice.delta.content})}
            reason = choice.finish_reason or reason
    total_ms = round((time.monotonic() - started) * 1000)
    done = {"finish_reason": reason, "usage": usage, "timings": {"total_ms": total_ms}}
    yield {"event": "done", "data": json.dumps(done)}


def main() -> None:
    import threading

    import uvicorn

    from bench.child import serve_commands

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        "bench.fastapi_relay:create_app", factory=True, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        serve_commands({"port": sock.getsockname()[1]}, lambda command: {"ok": True})
    finally:
        server.should_exit = True
        thread.join(10)


if __name__ == "__main__":
    main()
