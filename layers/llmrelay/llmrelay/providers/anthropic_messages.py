"""A conversation as the Messages API's ``messages``. Pure.

- a user message with only text stays a string; otherwise its parts become ``text``,
  ``image`` (``source``: ``base64`` with its ``media_type``, or ``url``) and ``document``
  blocks (a PDF as ``base64``, a text/plain file as a ``text`` source; ``filename`` as the
  ``title``); empty text parts are left out (Anthropic refuses empty text blocks);
- an assistant message: its text, its reasoning and its tool calls as ``text``,
  ``thinking`` (the text and its ``signature``, unchanged), ``redacted_thinking`` (its
  ``data``, unchanged) and ``tool_use`` blocks, in their order. Reasoning that carries
  neither a signature nor redacted data (another provider's) is not sent: Anthropic takes
  back only the thinking it signed;
- tool messages: ``tool_result`` blocks in a user turn, consecutive results in one turn (a
  result's content: its text, or its text and image blocks).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

from llmrelay.errors import InvalidRequest
from llmrelay.models import Message
from llmrelay.parts import FilePart, ImagePart, ReasoningPart, TextPart, ToolCallPart

__all__ = ["anthropic_messages"]

JSON = dict[str, Any]


def _image(part: ImagePart) -> JSON:
    if part.url is not None:
        return {"type": "image", "source": {"type": "url", "url": part.url}}
    source = {"type": "base64", "media_type": part.media_type, "data": part.data}
    return {"type": "image", "source": source}


def _document(part: FilePart) -> JSON:
    if part.media_type == "application/pdf":
        source = {"type": "base64", "media_type": part.media_type, "data": part.data}
    else:
        try:
            text = base64.b64decode(part.data, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidRequest("messages: a text/plain file part must be UTF-8 text") from None
        source = {"type": "text", "media_type": "text/plain", "data": text}
    document: JSON = {"type": "document", "source": source}
    if part.filename:
        document["title"] = part.filename
    return document


def _reasoning(part: ReasoningPart) -> JSON | None:
    if part.redacted is not None:
        return {"type": "redacted_thinking", "data": part.redacted}
    if part.signature is not None:
        return {"type": "thinking", "thinking": part.text, "signature": part.signature}
    return None  # unsigned (another provider's): Anthropic would refuse it


def _block(part: object) -> JSON | None:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text} if part.text else None
    if isinstance(part, ImagePart):
        return _image(part)
    if isinstance(part, FilePart):
        return _document(part)
    if isinstance(part, ReasoningPart):
        return _reasoning(part)
    if isinstance(part, ToolCallPart):
        arguments = json.loads(part.arguments) if part.arguments.strip() else {}
        return {"type": "tool_use", "id": part.id, "name": part.name, "input": arguments}
    return None


def _content(message: Message) -> str | list[JSON]:
    if isinstance(message.content, str):
        return message.content
    return [block for block in map(_block, message.content) if block is not None]


def _tool_result(message: Message) -> JSON:
    return {
        "type": "tool_result",
        "tool_use_id": message.tool_call_id,
        "content": _content(message),
    }


def anthropic_messages(messages: Sequence[Message]) -> list[JSON]:
    """User and assistant turns; tool results as user turns (consecutive ones merged)."""
    turns: list[JSON] = []
    results: list[JSON] | None = None  # the open user turn of tool results
    for message in messages:
        if message.role == "tool":
            if results is None:
                results = []
                turns.append({"role": "user", "content": results})
            results.append(_tool_result(message))
            continue
        results = None
        content = _content(message)
        if content or message.role != "assistant":  # an assistant turn of nothing is left out
            turns.append({"role": message.role, "content": content})
    return turns
