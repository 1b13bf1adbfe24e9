"""A Responses request's ``instructions`` and ``input``, as the neutral request's messages.

``instructions`` is a system message, first. ``input`` is a string (one user message) or a
list of items, read in order:

- ``message`` items (``type`` may be left out): roles ``user``, ``system``, ``developer``
  (as system) and ``assistant``; content a string or parts: ``input_text``,
  ``output_text`` and ``refusal`` as text, ``input_image`` (``image_url``: an ``http(s)``
  or base64 ``data:`` URL) as an image, ``input_file`` (``file_data``) as a file;
- ``function_call`` items as tool calls (``call_id``, ``name``, ``arguments`` unchanged);
- ``function_call_output`` items as tool results (``output`` a string or parts);
- ``reasoning`` items as reasoning: its ``content`` text (else its ``summary`` text) and its
  ``encrypted_content`` read back into the signature and redacted data it carried (see
  :mod:`llmrelay.protocols.responses_items`).

Consecutive reasoning, function-call and assistant-message items are one assistant turn, as
the Responses API's own output lists them. What needs OpenAI's storage (``item_reference``,
``file_id``, ``file_url``) or a built-in tool (their call items) is refused, naming the
field; so is any field of an item or part that llmrelay would otherwise drop. Problems the
neutral request finds are named in these terms by :meth:`Conversation.path_of`. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from llmrelay.errors import InvalidRequest, UnsupportedParameter
from llmrelay.protocols.responses_items import opaque_of

__all__ = ["Conversation", "read_conversation"]

Json = dict[str, object]
_ROLES: Final = {
    "user": "user",
    "system": "system",
    "developer": "system",
    "assistant": "assistant",
}
_TEXTS: Final = {"input_text": "text", "output_text": "text", "refusal": "refusal"}
# The fields each item and part may carry beyond what is read (bookkeeping the API echoes).
_ITEM_FIELDS: Final = {
    "message": {"type", "role", "content", "id", "status", "phase"},
    "function_call": {"type", "call_id", "name", "arguments", "id", "status", "caller"},
    "function_call_output": {"type", "call_id", "output", "id", "status", "caller"},
    "reasoning": {"type", "id", "summary", "content", "encrypted_content", "status"},
}
_PART_FIELDS: Final = {
    "input_text": {"type", "text", "prompt_cache_breakpoint"},
    "output_text": {"type", "text", "annotations", "logprobs"},
    "refusal": {"type", "refusal"},
    "input_image": {"type", "image_url", "detail", "file_id", "prompt_cache_breakpoint"},
    "input_file": {"type", "file_data", "filename", "file_id", "file_url", "detail"},
}
_STORED: Final = ("file_id", "file_url")


@dataclass(slots=True)
class Conversation:
    """The neutral messages, and where in the request each message and part came from."""

    messages: list[Json] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)
    contents: list[str] = field(default_factory=list)
    parts: list[list[str]] = field(default_factory=list)
    _turn: int | None = None  # the assistant message items are being added to

    def add(self, message: Json, origin: str, content: str, parts: list[str]) -> None:
        self._turn = None
        self.messages.append(message)
        self.origins.append(origin)
        self.contents.append(content)
        self.parts.append(parts)

    def assistant(self, parts: list[Json], where: list[str], origin: str) -> None:
        if self._turn is None:
            self.add({"role": "assistant", "content": []}, origin, f"{origin}.content", [])
            self._turn = len(self.messages) - 1
        content = self.messages[self._turn]["content"]
        assert isinstance(content, list)
        content.extend(parts)
        self.parts[self._turn].extend(where)

    def path_of(self, index: int, rest: str) -> str:
        """The request's name for ``messages.<index><rest>`` of the neutral request."""
        if not 0 <= index < len(self.messages):
            return f"input{rest}"
        head, _, tail = rest.removeprefix(".").partition(".")
        if head == "content":
            number, _, deeper = tail.partition(".")
            parts = self.parts[index]
            if number.isdigit() and int(number) < len(parts):
                return parts[int(number)] + (f".{deeper}" if deeper else "")
            return self.contents[index] + (f".{tail}" if tail else "")
        if head == "tool_call_id":
            return f"{self.origins[index]}.call_id"
        return self.origins[index] + rest


def _check_fields(value: Json, allowed: set[str], where: str) -> None:
    for name, given in value.items():
        if name not in allowed and given is not None:
            raise InvalidRequest(f"{where}.{str(name)[:40]}: unknown or unsupported field")
    for name in _STORED:
        if value.get(name) is not None:
            raise UnsupportedParameter(
                f"{where}.{name}: needs OpenAI's file storage; send the data inline",
                param=f"{where}.{name}",
            )


def _part(part: object, where: str) -> Json:
    kind = part.get("type") if isinstance(part, dict) else None
    if not isinstance(part, dict) or kind not in _PART_FIELDS:
        raise InvalidRequest(f"{where}.type: parts of type {str(kind)[:40]!r} are not supported")
    _check_fields(part, _PART_FIELDS[kind], where)
    if kind in _TEXTS:
        return {"type": "text", "text": part.get(_TEXTS[kind])}
    if kind == "input_image":
        return {"type": "image", "url": part.get("image_url")}
    if not isinstance(part.get("file_data"), str):
        raise InvalidRequest(f"{where}.file_data: a base64 data: URL is required")
    fields = {"type": "file", "data": part["file_data"], "media_type": "application/pdf"}
    return fields | ({"filename": part["filename"]} if "filename" in part else {})


def _content(value: object, where: str) -> tuple[object, list[str]]:
    if not isinstance(value, list):
        return value, []  # a string, or a shape the neutral request names
    paths = [f"{where}.{index}" for index in range(len(value))]
    return [_part(part, path) for part, path in zip(value, paths, strict=True)], paths


def _message(item: Json, where: str, into: Conversation) -> None:
    role = item.get("role")
    if not isinstance(role, str) or role not in _ROLES:
        raise InvalidRequest(f"{where}.role: must be one of {', '.join(_ROLES)}")
    content, paths = _content(item.get("content"), f"{where}.content")
    if role != "assistant":
        into.add({"role": _ROLES[role], "content": content}, where, f"{where}.content", paths)
    elif isinstance(content, list):
        into.assistant(content, paths, where)
    else:
        into.assistant([{"type": "text", "text": content}], [f"{where}.content"], where)


def _reasoning(item: Json, where: str) -> Json:
    texts = [(f"{where}.content", item.get("content")), (f"{where}.summary", item.get("summary"))]
    text = ""
    for path, given in texts:
        if given is not None and not isinstance(given, list):
            raise InvalidRequest(f"{path}: must be a list of parts")
        pieces = [p.get("text") if isinstance(p, dict) else None for p in given or ()]
        if not all(isinstance(piece, str) for piece in pieces):
            raise InvalidRequest(f"{path}: each part needs its text")
        if pieces and not text:
            text = "\n\n".join(str(piece) for piece in pieces)
    part: Json = {"type": "reasoning", "text": text}
    opaque = item.get("encrypted_content")
    if isinstance(opaque, str) and opaque:
        try:
            part["signature"], part["redacted"] = opaque_of(opaque)
        except ValueError as error:
            raise InvalidRequest(f"{where}.encrypted_content: {error}") from None
    elif opaque is not None and opaque != "":
        raise InvalidRequest(f"{where}.encrypted_content: must be a string")
    return {k: v for k, v in part.items() if v is not None}


def _item(item: object, where: str, into: Conversation) -> None:
    if not isinstance(item, dict):
        raise InvalidRequest(f"{where}: must be an object")
    kind = item.get("type", "message")
    if kind == "item_reference":
        raise UnsupportedParameter(
            f"{where}.type: item_reference needs stored responses; llmrelay is stateless",
            param=f"{where}.type",
        )
    if kind not in _ITEM_FIELDS:
        raise InvalidRequest(f"{where}.type: items of type {str(kind)[:40]!r} are not supported")
    _check_fields(item, _ITEM_FIELDS[kind] | {"type"}, where)
    if kind == "message":
        _message(item, where, into)
    elif kind == "function_call":
        call = {"type": "tool_call", "id": item.get("call_id"), "name": item.get("name")}
        into.assistant([{**call, "arguments": item.get("arguments", "{}")}], [where], where)
    elif kind == "reasoning":
        into.assistant([_reasoning(item, where)], [where], where)
    else:
        content, paths = _content(item.get("output"), f"{where}.output")
        message = {"role": "tool", "content": content, "tool_call_id": item.get("call_id")}
        into.add(message, where, f"{where}.output", paths)


def _caller_is_direct(item: object) -> bool:
    caller = item.get("caller") if isinstance(item, dict) else None
    return caller is None or caller == {"type": "direct"}


def read_conversation(instructions: object, given: object) -> Conversation:
    """The messages of ``instructions`` and ``input``; raises :class:`InvalidRequest`."""
    into = Conversation()
    if instructions is not None:
        if not isinstance(instructions, str):
            raise InvalidRequest("instructions: must be a string")
        into.add({"role": "system", "content": instructions}, "instructions", "instructions", [])
    if isinstance(given, str):
        into.add({"role": "user", "content": given}, "input", "input", [])
        return into
    if not isinstance(given, list) or not given:
        raise InvalidRequest("input: required, a string or a non-empty list of items")
    for index, item in enumerate(given):
        if not _caller_is_direct(item):
            raise UnsupportedParameter(
                f"input.{index}.caller: only direct calls", param=f"input.{index}.caller"
            )
        _item(item, f"input.{index}", into)
    return into
