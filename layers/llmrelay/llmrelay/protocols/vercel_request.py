"""The body ``useChat`` sends (the ``ai`` package's ``DefaultChatTransport``), read into a
:class:`~llmrelay.models.ChatRequest`.

``{"id", "messages": [UIMessage], "trigger", "messageId", ...body}``, where a UIMessage is
``{"id", "role", "parts": [...], "metadata"?}``. Each message's ``text`` parts are joined
(with a newline) into its content; parts that are not model input (``step-start``,
``reasoning``, sources, ``data-*``, tool calls) are skipped, and a message left with no text
is dropped. A ``file`` part is refused: an attachment silently left out would change the
question.

The chat's ``id`` becomes ``thread_id``. The extra ``body`` a page gives ``useChat``
(or ``sendMessage(..., {body})``) may set ``model``, ``temperature``, ``max_tokens``,
``context_id`` and ``user``; other fields (``trigger``, ``messageId``, an app's own) are
ignored. Pure: decoded JSON in, a request or :class:`InvalidRequest` out.
"""

from __future__ import annotations

from typing import Final

from llmrelay.errors import InvalidRequest
from llmrelay.models import ChatRequest

__all__ = ["parse_ui_chat_request"]

_FIELDS: Final = ("model", "temperature", "max_tokens", "context_id", "user")
_MAX_THREAD_ID: Final = 256
_ROLES: Final = ("system", "user", "assistant")  # a longer chat id is not passed on


def _text(parts: object, where: str) -> str:
    if not isinstance(parts, list):
        raise InvalidRequest(f"{where}.parts: must be a list of message parts")
    texts: list[str] = []
    for index, part in enumerate(parts):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "file":
            raise InvalidRequest(f"{where}.parts.{index}: file parts are not supported")
        if kind == "text":
            text = part.get("text") if isinstance(part, dict) else None
            if not isinstance(text, str):
                raise InvalidRequest(f"{where}.parts.{index}.text: must be a string")
            texts.append(text)
    return "\n".join(texts)


def _messages(value: object) -> list[dict[str, object]]:
    if not isinstance(value, list):
        raise InvalidRequest("messages: must be a list of UI messages")
    messages: list[dict[str, object]] = []
    for index, message in enumerate(value):
        if not isinstance(message, dict):
            raise InvalidRequest(f"messages.{index}: must be an object")
        if message.get("role") not in _ROLES:
            raise InvalidRequest(f"messages.{index}.role: must be one of {', '.join(_ROLES)}")
        content = _text(message.get("parts"), f"messages.{index}")
        if content:
            messages.append({"role": message.get("role"), "content": content})
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
