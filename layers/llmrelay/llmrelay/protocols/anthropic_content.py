"""Anthropic Messages ``messages`` and ``system``, read into llmrelay's neutral messages.

A user message's blocks: ``text``; ``image`` (``source`` ``base64`` with ``media_type``
and ``data``, or ``url``); ``document`` (``source`` ``base64`` PDF, or ``text`` plain
text; ``title`` becomes the file's name); ``tool_result`` (``tool_use_id``, ``content`` a
string or ``text`` and ``image`` blocks, ``is_error``), which becomes a ``tool`` message
in its place, so that the order the client gave is the order the provider sees. An
assistant message's blocks: ``text``, ``tool_use`` (``id``, ``name``, ``input``; the
input becomes the call's JSON arguments), ``thinking`` (with its ``signature``) and
``redacted_thinking`` (``data``), both handed back byte-exact as reasoning parts.

A failed tool result (``is_error: true``) has no flag in the neutral request: its text is
sent prefixed with ``Error: ``, so no provider reads it as a success. ``cache_control`` on
any block is a caching hint, accepted and not passed on. Everything else (server tools'
blocks, ``search_result``, files by id, citations) is refused with a 400 naming its path,
never dropped. Pure: decoded JSON in, neutral message dicts or :class:`InvalidRequest` out.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Final

from llmrelay.errors import InvalidRequest

__all__ = ["ERROR_PREFIX", "neutral_messages", "system_messages"]

Json = dict[str, object]
ERROR_PREFIX: Final = "Error: "
# The fields each block may have (besides ``type`` and the ignored ``cache_control``).
_FIELDS: Final[Mapping[str, frozenset[str]]] = {
    "text": frozenset({"text"}),
    "image": frozenset({"source"}),
    "document": frozenset({"source", "title"}),
    "tool_result": frozenset({"tool_use_id", "content", "is_error"}),
    "tool_use": frozenset({"id", "name", "input"}),
    "thinking": frozenset({"thinking", "signature"}),
    "redacted_thinking": frozenset({"data"}),
}
# Fields taken only when they ask for nothing (the SDK sends some back as null): citations,
# a document's context, a tool call's caller other than the model itself, its toolset.
_IDLE_FIELDS: Final = frozenset({"citations", "context", "caller", "toolset_name"})
_USER_BLOCKS: Final = frozenset({"text", "image", "document", "tool_result"})
_ASSISTANT_BLOCKS: Final = frozenset({"text", "tool_use", "thinking", "redacted_thinking"})


def _string(block: Mapping[str, object], name: str, where: str) -> str:
    value = block.get(name)
    if not isinstance(value, str):
        raise InvalidRequest(f"{where}.{name}: must be a string")
    return value


def _idle(value: object) -> bool:
    if isinstance(value, dict):
        return value.get("enabled") is False or value == {"type": "direct"}
    return value in (None, "", [], False)


def _checked(block: object, where: str, allowed: frozenset[str]) -> tuple[str, Json]:
    """The block's type and the block, once its type and fields are known ones."""
    kind = block.get("type") if isinstance(block, dict) else None
    if not isinstance(block, dict) or not isinstance(kind, str):
        raise InvalidRequest(f"{where}: must be a content block (an object with a type)")
    if kind not in allowed:
        raise InvalidRequest(f"{where}.type: {kind[:60]!r} blocks are not supported here")
    for name in sorted(set(block) - _FIELDS[kind] - {"type", "cache_control"}):
        if name not in _IDLE_FIELDS:
            raise InvalidRequest(f"{where}.{name[:60]}: unknown field")
        if not _idle(block[name]):
            raise InvalidRequest(f"{where}.{name}: not supported by llmrelay")
    return kind, block


def _source(block: Json, where: str) -> Json:
    source = block.get("source")
    if not isinstance(source, dict) or not isinstance(source.get("type"), str):
        raise InvalidRequest(f"{where}.source: must be an object with a type")
    return source


def _image(block: Json, where: str) -> Json:
    source = _source(block, where)
    if source["type"] == "base64":
        return {
            "type": "image",
            "data": _string(source, "data", f"{where}.source"),
            "media_type": _string(source, "media_type", f"{where}.source"),
        }
    if source["type"] == "url":
        return {"type": "image", "url": _string(source, "url", f"{where}.source")}
    raise InvalidRequest(f"{where}.source.type: only base64 and url images are supported")


def _document(block: Json, where: str) -> Json:
    source = _source(block, where)
    file: Json = {"type": "file"}
    if source["type"] == "base64":
        file["data"] = _string(source, "data", f"{where}.source")
        file["media_type"] = _string(source, "media_type", f"{where}.source")
    elif source["type"] == "text":
        text = _string(source, "data", f"{where}.source")
        file["data"] = base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii")
        file["media_type"] = "text/plain"
    else:
        raise InvalidRequest(f"{where}.source.type: only base64 and text documents are supported")
    if isinstance(block.get("title"), str) and block["title"]:
        file["filename"] = block["title"]
    return file


def _tool_use(block: Json, where: str) -> Json:
    arguments = block.get("input", {})
    if not isinstance(arguments, dict):
        raise InvalidRequest(f"{where}.input: must be an object")
    return {
        "type": "tool_call",
        "id": _string(block, "id", where),
        "name": _string(block, "name", where),
        "arguments": json.dumps(arguments, ensure_ascii=False),
    }


def _thinking(kind: str, block: Json, where: str) -> Json:
    if kind == "redacted_thinking":
        return {"type": "reasoning", "redacted": _string(block, "data", where)}
    part: Json = {"type": "reasoning", "text": _string(block, "thinking", where)}
    signature = block.get("signature")
    if signature not in (None, ""):  # a block that never had one comes back with ""
        part["signature"] = _string(block, "signature", where)
    return part


def _result_content(block: Json, where: str) -> object:
    content = block.get("content")
    if content is None or content == "" or content == []:
        content = json.dumps("")  # a result that said nothing: content is never empty
    elif isinstance(content, list):
        parts: list[Json] = []
        for index, inner in enumerate(content):
            at = f"{where}.content.{index}"
            kind, item = _checked(inner, at, frozenset({"text", "image"}))
            parts.append(
                {"type": "text", "text": _string(item, "text", at)}
                if kind == "text"
                else _image(item, at)
            )
        content = parts
    elif not isinstance(content, str):
        raise InvalidRequest(f"{where}.content: must be a string or a list of blocks")
    if block.get("is_error") is True:
        if isinstance(content, str):
            return ERROR_PREFIX + content
        return [{"type": "text", "text": ERROR_PREFIX.strip()}, *content]
    return content


class _Turn:
    """The neutral messages one Anthropic message becomes, in order."""

    def __init__(self, role: str) -> None:
        self.role = role
        self.messages: list[Json] = []
        self.parts: list[Json] = []

    def flush(self) -> None:
        if self.parts:
            only_text = len(self.parts) == 1 and self.parts[0]["type"] == "text"
            self.messages.append(
                {"role": self.role, "content": self.parts[0]["text"] if only_text else self.parts}
            )
        self.parts = []

    def result(self, block: Json, where: str, called: set[str]) -> None:
        call_id = _string(block, "tool_use_id", where)
        if call_id not in called:
            raise InvalidRequest(
                f"{where}.tool_use_id: no earlier tool_use block has id {call_id[:64]!r}"
            )
        self.flush()
        content = _result_content(block, where)
        self.messages.append({"role": "tool", "tool_call_id": call_id, "content": content})


def _blocks(turn: _Turn, blocks: list[object], where: str, called: set[str]) -> None:
    allowed = _USER_BLOCKS if turn.role == "user" else _ASSISTANT_BLOCKS
    for index, raw in enumerate(blocks):
        at = f"{where}.{index}"
        kind, block = _checked(raw, at, allowed)
        if kind == "tool_result":
            turn.result(block, at, called)
        elif kind == "text":
            turn.parts.append({"type": "text", "text": _string(block, "text", at)})
        elif kind == "image":
            turn.parts.append(_image(block, at))
        elif kind == "document":
            turn.parts.append(_document(block, at))
        elif kind == "tool_use":
            part = _tool_use(block, at)
            called.add(str(part["id"]))
            turn.parts.append(part)
        else:
            turn.parts.append(_thinking(kind, block, at))


def neutral_messages(value: object) -> list[tuple[int, Json]]:
    """``messages`` as the neutral request's message dicts, each with the index of the
    message it comes from (``ChatRequest`` checks the rest)."""
    if not isinstance(value, list) or not value:
        raise InvalidRequest("messages: must be a non-empty list of messages")
    messages: list[tuple[int, Json]] = []
    called: set[str] = set()
    for index, message in enumerate(value):
        where = f"messages.{index}"
        if not isinstance(message, dict):
            raise InvalidRequest(f"{where}: must be an object")
        role = message.get("role")
        if role not in ("user", "assistant"):
            raise InvalidRequest(f"{where}.role: must be 'user' or 'assistant'")
        unknown = set(message) - {"role", "content"}
        if unknown:
            raise InvalidRequest(f"{where}.{sorted(unknown)[0][:60]}: unknown field")
        content = message.get("content")
        turn = _Turn(str(role))
        if isinstance(content, str):
            turn.parts.append({"type": "text", "text": content})
        elif isinstance(content, list):
            _blocks(turn, content, f"{where}.content", called)
        else:
            raise InvalidRequest(f"{where}.content: must be a string or a list of content blocks")
        turn.flush()
        messages.extend((index, turn_message) for turn_message in turn.messages)
    return messages


def system_messages(value: object) -> list[Json]:
    """``system`` (a string, or ``text`` blocks: one system message each)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [{"role": "system", "content": value}]
    if not isinstance(value, list):
        raise InvalidRequest("system: must be a string or a list of text blocks")
    messages: list[Json] = []
    for index, raw in enumerate(value):
        where = f"system.{index}"
        _, block = _checked(raw, where, frozenset({"text"}))
        text = _string(block, "text", where)
        if text:
            messages.append({"role": "system", "content": text})
    return messages
