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


def test_an_http_error_reaches_the_transport_as_the_human_message(emulator: Emulator) -> None:
    result = read_with_ai(emulator, "hello", "nope/model")
    assert "text" not in result
    assert result["httpError"].startswith("unknown provider 'nope'")


def test_an_error_part_mid_stream_reaches_the_reader(slow_emulator: Emulator) -> None:
    result = read_with_ai(slow_emulator, LONG)
    assert result["errors"][0]
    assert not result["errors"][0].startswith("deadline_exceeded")
    assert LONG.startswith(result["text"])
    assert result["text"]


def run_tool_loop(emulator: Emulator, prompt: str, output: object) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        missing("Node.js (>= 20)", "sudo apt-get install -y nodejs npm")
    if not (NODE_DIR / "node_modules" / "ai" / "package.json").exists():
        missing("the `ai` npm package", "npm ci --prefix tests/node")
    script = NODE_DIR / "ui-tool-loop.mjs"
    command = [node, str(script), f"{emulator.url}/api/chat", prompt, json.dumps(output)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_use_chat_runs_a_tool_loop_with_reasoning_against_the_echo_demo(
    emulator: Emulator,
) -> None:
    result = run_tool_loop(emulator, "/demo look it up", {"found": "ünïcode"})
    assert result["errors"] == []
    first = result["first"]["parts"]
    assert [part["type"] for part in first] == ["step-start", "reasoning", "text", "tool-echo"]
    reasoning, text, tool = first[1], first[2], first[3]
    assert reasoning["state"] == "done"
    assert reasoning["text"]
    assert reasoning["providerMetadata"]["llmrelay"]["signature"]
    assert text["text"].strip() == "look it up"
    assert tool["state"] == "input-available"
    assert tool["input"] == {"text": "look it up"}
    assert result["first"]["metadata"]["usage"]["outputTokens"] > 0
    # The second turn carried the reasoning part, the tool call and its output back.
    second = [part for part in result["second"]["parts"] if part["type"] == "text"]
    answer = second[0]["text"].removeprefix("Tool echo answered: ")
    assert json.loads(answer) == {"found": "ünïcode"}
