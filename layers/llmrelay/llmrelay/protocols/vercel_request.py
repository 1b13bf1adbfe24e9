"""The body ``useChat`` sends (the ``ai`` package's ``DefaultChatTransport``), read into a
:class:`~llmrelay.models.ChatRequest`.

``{"id", "messages": [UIMessage], "trigger", "messageId", ...body}``, where a UIMessage is
``{"id", "role", "parts": [...], "metadata"?}``. A message's parts become the neutral
message's content:

- ``text`` parts, consecutive ones joined with a newline (a message of text alone keeps a
  string content);
- ``file`` parts of a user message: an image (``image/*``, a ``data:`` or ``http(s)`` URL)
  or a document (PDF or plain text, a ``data:`` URL), checked like any image or file part;
- ``reasoning`` parts of an assistant message, with the signature and redacted data the
  stream gave them in ``providerMetadata.llmrelay`` (see :mod:`llmrelay.protocols.vercel`),
  so that the next turn hands them back unchanged;
- tool parts (``tool-<name>`` or ``dynamic-tool``) of an assistant message: the call, and,
  once the page has its result (``output-available``, ``output-error``,
  ``output-denied``), a ``tool`` message answering it. A step that follows a tool's result
  (its ``step-start``, or any part but another call) is a new assistant message, in order,
  as the provider saw it, even when it holds nothing but calls.

Parts that are not model input are skipped: sources, ``data-*``, files an
assistant generated, and a tool call the stream had not finished (``input-streaming``, as
a Stop leaves it). A message left with nothing is dropped.

The chat's ``id`` becomes ``thread_id``. The extra ``body`` a page gives ``useChat``
(or ``sendMessage(..., {body})``) may set ``model``, ``temperature``, ``max_tokens``,
``context_id``, ``user`` and the request's fields beyond text (``tools``, ``tool_choice``,
``parallel_tool_calls``, ``response_format``, ``stop``, ``top_p``, ``seed``,
``reasoning_effort``, in the native request's shapes); other fields (``trigger``,
``messageId``, an app's own) are ignored. Pure: decoded JSON in, a request or
:class:`InvalidRequest` out.
"""

from __future__ import annotations

import json
from typing import Final

from llmrelay.errors import InvalidRequest
from llmrelay.models import ChatRequest

__all__ = ["parse_ui_chat_request"]

_FIELDS: Final = (
    "model",
    "temperature",
    "max_tokens",
    "context_id",
    "user",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "stop",
    "top_p",
    "seed",
    "reasoning_effort",
)
_MAX_THREAD_ID: Final = 256  # a longer chat id is not passed on
_ROLES: Final = ("system", "user", "assistant")
_ANSWERED: Final = ("output-available", "output-error", "output-denied")
_SKIPPED: Final = frozenset({"source-url", "source-document"})

Json = dict[str, object]


class _Turns:
    """The neutral messages one UI message becomes."""

    def __init__(self, role: object) -> None:
        self.role = role
        self.messages: list[Json] = []
        self.parts: list[Json] = []
        self.results: list[Json] = []

    def add(self, part: Json) -> None:
        if self.results and part["type"] != "tool_call":
            self.flush()  # what follows a tool's result is the next step: a new assistant turn
        if part["type"] == "text" and self.parts and self.parts[-1]["type"] == "text":
            self.parts[-1] = {"type": "text", "text": f"{self.parts[-1]['text']}\n{part['text']}"}
        else:
            self.parts.append(part)

    def step(self) -> None:
        if self.results:
            self.flush()  # a new step after tool results: even one of calls alone is a new turn

    def answer(self, call_id: str, content: str) -> None:
        # An empty result is sent as the JSON text of an empty string: content is never empty.
        result = content or json.dumps("")
        self.results.append({"role": "tool", "tool_call_id": call_id, "content": result})

    def flush(self) -> None:
        if self.parts:
            only_text = len(self.parts) == 1 and self.parts[0]["type"] == "text"
            content = self.parts[0]["text"] if only_text else self.parts
            if content:
                self.messages.append({"role": self.role, "content": content})
        self.messages.extend(self.results)
        self.parts, self.results = [], []


def _string(part: Json, name: str, where: str) -> str:
    value = part.get(name)
    if not isinstance(value, str):
        raise InvalidRequest(f"{where}.{name}: must be a string")
    return value


def _file(part: Json, where: str) -> Json:
    media_type = _string(part, "mediaType", where)
    url = _string(part, "url", where)
    if media_type.startswith("image/"):
        return {"type": "image", "url": url}
    if not url.startswith("data:"):
        raise InvalidRequest(f"{where}.url: a {media_type} file must be a base64 data: URL")
    file: Json = {"type": "file", "data": url}
    if isinstance(part.get("filename"), str):
        file["filename"] = part["filename"]
    return file


def _reasoning(part: Json, where: str) -> Json | None:
    reasoning: Json = {"type": "reasoning", "text": _string(part, "text", where)}
    metadata = part.get("providerMetadata")
    ours = metadata.get("llmrelay") if isinstance(metadata, dict) else None
    if isinstance(ours, dict):
        for name in ("signature", "redacted"):
            if isinstance(ours.get(name), str) and ours[name]:
                reasoning[name] = ours[name]
    return reasoning if len(reasoning) > 2 or reasoning["text"] else None


def _result(part: Json) -> str:
    state = part.get("state")
    if state == "output-error":
        return str(part.get("errorText") or "the tool failed")
    if state == "output-denied":
        return "the user denied this tool call"
    output = part.get("output")
    return output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)


def _tool(turns: _Turns, part: Json, kind: str, where: str) -> None:
    if part.get("state") == "input-streaming":
        return  # unfinished: a Stop cut the call short, there is nothing to run or answer
    name = kind[len("tool-") :] if kind != "dynamic-tool" else _string(part, "toolName", where)
    call_id = _string(part, "toolCallId", where)
    arguments = part.get("input", {})
    if not isinstance(arguments, dict):
        raise InvalidRequest(f"{where}.input: must be a JSON object")
    text = json.dumps(arguments, ensure_ascii=False)
    turns.add({"type": "tool_call", "id": call_id, "name": name, "arguments": text})
    if part.get("state") in _ANSWERED:
        turns.answer(call_id, _result(part))


def _turns(role: object, parts: object, where: str) -> list[Json]:
    if not isinstance(parts, list):
        raise InvalidRequest(f"{where}.parts: must be a list of message parts")
    turns = _Turns(role)
    for index, part in enumerate(parts):
        at = f"{where}.parts.{index}"
        kind = part.get("type") if isinstance(part, dict) else None
        if not isinstance(part, dict) or not isinstance(kind, str):
            raise InvalidRequest(f"{at}: must be an object with a type")
        if kind == "step-start":
            turns.step()
        elif kind == "text":
            turns.add({"type": "text", "text": _string(part, "text", at)})
        elif kind == "file" and role == "user":
            turns.add(_file(part, at))
        elif kind == "file" and role == "system":
            raise InvalidRequest(f"{at}: a system message cannot hold files")
        elif kind == "reasoning" and role == "assistant":
            reasoning = _reasoning(part, at)
            if reasoning is not None:
                turns.add(reasoning)
        elif (kind.startswith("tool-") or kind == "dynamic-tool") and role == "assistant":
            _tool(turns, part, kind, at)
        elif kind in _SKIPPED or kind.startswith("data-") or role == "assistant":
            continue  # not model input (an assistant's own files and sources included)
        else:
            raise InvalidRequest(f"{at}: a {role} message cannot hold {kind} parts")
    turns.flush()
    return turns.messages


def _messages(value: object) -> list[Json]:
    if not isinstance(value, list):
        raise InvalidRequest("messages: must be a list of UI messages")
    messages: list[Json] = []
    for index, message in enumerate(value):
        if not isinstance(message, dict):
            raise InvalidRequest(f"messages.{index}: must be an object")
        if message.get("role") not in _ROLES:
            raise InvalidRequest(f"messages.{index}.role: must be one of {', '.join(_ROLES)}")
        messages += _turns(message["role"], message.get("parts"), f"messages.{index}")
    return messages


def parse_ui_chat_request(data: object) -> ChatRequest:
    """``data`` (decoded JSON) as a validated request; raises :class:`InvalidRequest`."""
    if not isinstance(data, dict):
        raise InvalidRequest("body: must be a JSON object")
    fields = {name: data[name] for name in _FIELDS if data.get(name) is not None}
    chat_id = data.get("id")
    if isinstance(chat_id, str) and 0 < len(chat_id) <= _MAX_THREAD_ID:
        fields["thread_id"] = chat_id
    return ChatRequest.parse({**fields, "messages": _messages(data.get("messages"))})
