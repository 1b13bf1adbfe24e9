"""What the fake Anthropic API refuses, as the real one does, with the real messages. Pure.

The real API answers 400 ``invalid_request_error`` when a request hands back a ``thinking``
block whose signature is not the one it issued for that text (the next turn of a
conversation whose signature was lost or altered), a ``redacted_thinking`` block with data
it never sent, a ``tool_result`` that answers no ``tool_use`` of the message before it, or
a thinking budget under 1024 tokens or not below ``max_tokens``. The fake checks the same,
so that a test proves an adapter sends back what it received, byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any

__all__ = ["Issued", "request_problem"]

_MIN_BUDGET = 1024


class Issued:
    """The signatures and redacted data one fake has sent, to recognise them coming back."""

    def __init__(self) -> None:
        self.signatures: dict[str, str] = {}  # signature -> the thinking text it signs
        self.redacted: set[str] = set()

    def sign(self, thinking: str, signature: str = "") -> str:
        """``signature`` (or one derived from the text, shaped like the real ones: base64
        with ``+``, ``/`` and padding) recorded as signing ``thinking``."""
        if not signature:
            digest = hashlib.sha256(thinking.encode()).digest()
            signature = "Eq" + base64.b64encode(b"\xfb\xff" + digest * 3).decode()
        self.signatures[signature] = thinking
        return signature


def _blocks(message: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    content = message.get("content")
    return [b for b in content if isinstance(b, Mapping)] if isinstance(content, list) else []


def _assistant_problem(index: int, message: Mapping[str, Any], issued: Issued) -> str | None:
    for position, block in enumerate(_blocks(message)):
        where = f"messages.{index}.content.{position}"
        kind = block.get("type")
        if kind == "thinking":
            if issued.signatures.get(str(block.get("signature"))) != block.get("thinking"):
                return f"{where}: Invalid `signature` in `thinking` block"
        elif kind == "redacted_thinking" and block.get("data") not in issued.redacted:
            return f"{where}: Invalid `data` in `redacted_thinking` block"
    return None


def _tool_result_problem(message: Mapping[str, Any], previous: Mapping[str, Any]) -> str | None:
    called = {b.get("id") for b in _blocks(previous) if b.get("type") == "tool_use"}
    if previous.get("role") != "assistant":
        called = set()
    for block in _blocks(message):
        if block.get("type") == "tool_result" and block.get("tool_use_id") not in called:
            return (
                "unexpected `tool_use_id` found in `tool_result` blocks: "
                f"{block.get('tool_use_id')}. Each `tool_result` block must have a "
                "corresponding `tool_use` block in the previous message."
            )
    return None


def _thinking_problem(body: Mapping[str, Any]) -> str | None:
    thinking = body.get("thinking")
    if not isinstance(thinking, Mapping) or thinking.get("type") != "enabled":
        return None
    budget = thinking.get("budget_tokens")
    if not isinstance(budget, int) or budget < _MIN_BUDGET:
        return f"thinking.budget_tokens: Input should be greater than or equal to {_MIN_BUDGET}"
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or budget >= max_tokens:
        return "`max_tokens` must be greater than `thinking.budget_tokens`"
    return None


def request_problem(body: object, issued: Issued) -> str | None:
    """Why the real API would refuse ``body`` with a 400, or ``None``."""
    if not isinstance(body, Mapping):
        return None
    problem = _thinking_problem(body)
    messages = body.get("messages")
    messages = [m for m in messages if isinstance(m, Mapping)] if isinstance(messages, list) else []
    for index, message in enumerate(messages):
        if problem is not None:
            return problem
        if message.get("role") == "assistant":
            problem = _assistant_problem(index, message, issued)
        else:
            problem = _tool_result_problem(message, messages[index - 1] if index else {})
    return problem
