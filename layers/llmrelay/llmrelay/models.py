"""The validated request: ``ChatRequest`` of ``Message``s.

Limits (content length, message count, ``max_tokens`` ceiling) come from
:class:`llmrelay.config.Settings`, so they are configurable by environment.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from llmrelay.config import get_settings
from llmrelay.errors import InvalidRequest

__all__ = ["ChatRequest", "Message", "Role", "invalid_request_from"]

Role = Literal["system", "user", "assistant"]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    role: Role
    content: str = Field(min_length=1)

    @field_validator("content")
    @classmethod
    def _content_within_limit(cls, value: str) -> str:
        limit = get_settings().max_content_chars
        if len(value) > limit:
            raise ValueError(f"must be at most {limit} characters (got {len(value)})")
        return value


class ChatRequest(BaseModel):
    """One chat call. ``model`` is ``provider/model``; empty means the configured default."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    model: str | None = Field(default=None, min_length=3, max_length=256)
    messages: list[Message] = Field(min_length=1)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1)
    context_id: str | None = Field(default=None, min_length=1, max_length=128)
    thread_id: str | None = Field(default=None, min_length=1, max_length=256)
    user: str | None = Field(default=None, min_length=1, max_length=256)
    stream: bool = True

    @field_validator("messages")
    @classmethod
    def _bounded(cls, value: list[Message]) -> list[Message]:
        limit = get_settings().max_messages
        if len(value) > limit:
            raise ValueError(f"must hold at most {limit} messages (got {len(value)})")
        if not any(m.role == "user" for m in value):
            raise ValueError("must contain at least one user message")
        return value

    @field_validator("max_tokens")
    @classmethod
    def _under_ceiling(cls, value: int | None) -> int | None:
        ceiling = get_settings().max_tokens_ceiling
        if value is not None and value > ceiling:
            raise ValueError(f"must be at most {ceiling}")
        return value

    @field_validator("temperature", mode="before")
    @classmethod
    def _int_temperature(cls, value: object) -> object:
        # JSON has one number type: accept 1 as 1.0, but never a bool.
        if isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value

    @classmethod
    def parse(cls, data: object) -> ChatRequest:
        """Validate decoded JSON, raising :class:`InvalidRequest` that names the field."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise invalid_request_from(exc) from None


def invalid_request_from(exc: ValidationError) -> InvalidRequest:
    """One readable message per problem, each naming its field (``messages.0.content``)."""
    problems = []
    for err in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in err["loc"]) or "body"
        text = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            text = "unknown field"
        problems.append(f"{where}: {text}")
    return InvalidRequest("; ".join(problems[:5]))
