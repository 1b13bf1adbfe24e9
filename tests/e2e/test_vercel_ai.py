"""The real ``ai`` npm package reads ``POST /api/chat`` through ``make dev``'s emulator: its
``DefaultChatTransport`` (what ``useChat`` uses) sends the request and validates every chunk
against ``uiMessageChunkSchema``; ``readUIMessageStream`` assembles the message
(``tests/node/ui-message-stream.mjs``)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.emulator import Emulator
from tests.e2e.tools import missing

pytestmark = pytest.mark.e2e

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
SCRIPT = NODE_DIR / "ui-message-stream.mjs"
LONG = " ".join(f"word{n}" for n in range(60))  # longer than the slow emulator's deadline


def read_with_ai(emulator: Emulator, prompt: str, model: str | None = None) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        missing("Node.js (>= 20)", "sudo apt-get install -y nodejs npm")
    if not (NODE_DIR / "node_modules" / "ai" / "package.json").exists():
        missing("the `ai` npm package", "npm ci --prefix tests/node")
    command = [node, str(SCRIPT), f"{emulator.url}/api/chat", prompt, *([model] if model else [])]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_use_chats_transport_assembles_the_streamed_answer(emulator: Emulator) -> None:
    result = read_with_ai(emulator, "hello from the ai package", "echo/echo")
    assert result["text"] == "hello from the ai package"
    assert result["errors"] == []
    message = result["message"]
    assert message["role"] == "assistant"
    assert [part["type"] for part in message["parts"]] == ["step-start", "text"]
    assert message["parts"][1]["state"] == "done"
    assert message["metadata"]["usage"]["outputTokens"] == 5


def test_an_http_error_reaches_the_transport_with_the_gateways_body(emulator: Emulator) -> None:
    result = read_with_ai(emulator, "hello", "nope/model")
    assert "text" not in result
    assert json.loads(result["httpError"])["error"]["code"] == "unknown_model"


def test_an_error_part_mid_stream_reaches_the_reader(slow_emulator: Emulator) -> None:
    result = read_with_ai(slow_emulator, LONG)
    assert result["errors"][0].startswith("deadline_exceeded:")
    assert LONG.startswith(result["text"])
    assert result["text"]
