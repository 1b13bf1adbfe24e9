"""A thread's turns as JSON, and how a request's messages meet the thread's history. Pure.

A turn is what one request added to the conversation: its new messages (system prompts
left out: they belong to each request) and the answer, as an assistant message with all of
its blocks (reasoning with its signature, tool calls), ``stopped`` when it was cut short.

A client may send only its new message (the point of threads), or, as ``useChat`` does,
the whole conversation again. :func:`merge` tells them apart: when the request's messages
begin with the thread's history (same roles and text), they are used as they are;
otherwise the history goes in front of them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from llmrelay.events import FinishReason
from llmrelay.models import Message

__all__ = ["Turn", "decode_turn", "encode_turn", "history", "merge"]


@dataclass(frozen=True, slots=True)
class Turn:
    messages: tuple[Message, ...]
    finish_reason: FinishReason | None = None
    created: int = 0
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def stopped(self) -> bool:
        return self.finish_reason == "stopped"

    def to_dict(self) -> dict[str, object]:
        return {
            "messages": [
                message.model_dump(mode="json", exclude_none=True) for message in self.messages
            ],
            "finish_reason": self.finish_reason,
            "stopped": self.stopped,
            "created": self.created,
        }


def encode_turn(turn: Turn) -> bytes:
    return json.dumps(turn.to_dict(), ensure_ascii=False, separators=(",", ":")).encode()


def decode_turn(data: bytes) -> Turn:
    document = json.loads(data)
    messages = tuple(Message.model_validate(message) for message in document["messages"])
    return Turn(messages, document.get("finish_reason"), int(document.get("created", 0)))


def history(turns: Sequence[Turn]) -> list[Message]:
    return [message for turn in turns for message in turn.messages]


def _same(stored: Message, sent: Message) -> bool:
    return stored.role == sent.role and stored.text == sent.text


def merge(past: Sequence[Message], sent: Sequence[Message]) -> tuple[list[Message], list[Message]]:
    """The messages to answer, and those of them new to the thread (see the module's doc)."""
    conversation = [message for message in sent if message.role != "system"]
    resent = len(conversation) >= len(past) and all(
        _same(stored, message) for stored, message in zip(past, conversation, strict=False)
    )
    if resent:
        return list(sent), conversation[len(past) :]
    return [*past, *sent], conversation
