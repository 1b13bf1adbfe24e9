"""The validated request: ``ChatRequest`` of ``Message``s.

A message's ``content`` is a string or a list of parts (:mod:`llmrelay.parts`); an
assistant message may carry the reasoning and tool calls of an earlier answer, and a
``tool`` message answers one of those calls (``tool_call_id``). The request may offer
tools and ask for a response format (:mod:`llmrelay.tools`). Limits (content length,
message count, ``max_tokens`` ceiling, tools, schema, image and file bytes) come from
:class:`llmrelay.config.Settings`, so they are configurable by environment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from llmrelay.config import get_settings
from llmrelay.errors import InvalidRequest
from llmrelay.events import Block, ReasoningBlock, TextBlock
from llmrelay.parts import (
    FilePart,
    ImagePart,
    Part,
    ReasoningPart,
    TextPart,
    ToolCallPart,
)
from llmrelay.tools import ReasoningEffort, ResponseFormat, Tool, ToolChoice, ToolChoiceName

__all__ = [
    "ChatRequest",
    "Message",
    "Role",
    "assistant_message",
    "invalid_request_from",
]

Role = Literal["system", "user", "assistant", "tool"]
# Which parts each role may hold.
_ALLOWED: Final[dict[str, tuple[type[BaseModel], ...]]] = {
    "system": (TextPart,),
    "user": (TextPart, ImagePart, FilePart),
    "assistant": (TextPart, ReasoningPart, ToolCallPart),
    "tool": (TextPart, ImagePart),
}
_KIND: Final = {
    TextPart: "text",
    ImagePart: "image",
    FilePart: "file",
    ReasoningPart: "reasoning",
    ToolCallPart: "tool_call",
}


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    role: Role
    content: str | list[Part] = Field(min_length=1)
    tool_call_id: str | None = Field(default=None, min_length=1, max_length=256)

    @field_validator("content")
    @classmethod
    def _content_within_limit(cls, value: str | list[Part]) -> str | list[Part]:
        limit = get_settings().max_content_chars
        size = len(value) if isinstance(value, str) else sum(_chars(p) for p in value)
        if size > limit:
            raise ValueError(f"must be at most {limit} characters (got {size})")
        return value

    @model_validator(mode="after")
    def _parts_fit_role(self) -> Message:
        if (self.role == "tool") != (self.tool_call_id is not None):
            raise ValueError(
                "tool_call_id: required for role 'tool'"
                if self.role == "tool"
                else "tool_call_id: only messages of role 'tool' have one"
            )
        allowed = _ALLOWED[self.role]
        for part in self.parts:
            if not isinstance(part, allowed):
                kind = _KIND[type(part)]
                raise ValueError(f"content: a {self.role} message cannot hold {kind} parts")
        return self

    @property
    def parts(self) -> Sequence[Part]:
        """The content as parts (a string is one text part)."""
        if isinstance(self.content, str):
            return (TextPart(type="text", text=self.content),)
        return self.content

    @property
    def text(self) -> str:
        """The text parts, joined (a string content as is)."""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content if isinstance(p, TextPart))

    @property
    def tool_calls(self) -> list[ToolCallPart]:
        return [p for p in self.parts if isinstance(p, ToolCallPart)]


def _chars(part: Part) -> int:
    if isinstance(part, TextPart | ReasoningPart):
        return len(part.text)
    if isinstance(part, ToolCallPart):
        return len(part.arguments)
    return 0  # images and files have byte limits of their own


def _part_of(block: Block) -> Part:
    if isinstance(block, TextBlock):
        return TextPart(type="text", text=block.text)
    if isinstance(block, ReasoningBlock):
        return ReasoningPart(
            type="reasoning", text=block.text, signature=block.signature, redacted=block.redacted
        )
    return ToolCallPart(type="tool_call", id=block.id, name=block.name, arguments=block.arguments)


def assistant_message(blocks: Iterable[Block]) -> Message:
    """The assistant turn of an answer's blocks, for the next request: reasoning (with its
    signature) and tool calls unchanged, so that the provider accepts them back."""
    parts = [_part_of(b) for b in blocks if not (isinstance(b, TextBlock) and not b.text)]
    return Message(role="assistant", content=parts or "")


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
    tools: list[Tool] | None = None
    tool_choice: ToolChoiceName | ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    stop: list[str] | None = Field(default=None, min_length=1, max_length=16)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    top_k: int | None = Field(default=None, ge=1)
    seed: int | None = None
    reasoning_effort: ReasoningEffort | None = None

    @field_validator("messages")
    @classmethod
    def _bounded(cls, value: list[Message]) -> list[Message]:
        limit = get_settings().max_messages
        if len(value) > limit:
            raise ValueError(f"must hold at most {limit} messages (got {len(value)})")
        if not any(m.role == "user" for m in value):
            raise ValueError("must contain at least one user message")
        _check_tool_results(value)
        return value

    @field_validator("tools")
    @classmethod
    def _tools_bounded(cls, value: list[Tool] | None) -> list[Tool] | None:
        if value is None:
            return None
        limit = get_settings().max_tools
        if len(value) > limit:
            raise ValueError(f"must hold at most {limit} tools (got {len(value)})")
        names = [tool.name for tool in value]
        if len(set(names)) != len(names):
            raise ValueError("tool names must be unique")
        return value

    @field_validator("stop", mode="before")
    @classmethod
    def _one_stop(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("stop")
    @classmethod
    def _stops(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not all(0 < len(s) <= 256 for s in value):
            raise ValueError("each stop sequence must be 1 to 256 characters")
        return value

    @field_validator("top_p", mode="before")
    @classmethod
    def _int_top_p(cls, value: object) -> object:
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _choice_names_a_tool(self) -> ChatRequest:
        choice, names = self.tool_choice, {t.name for t in self.tools or ()}
        if isinstance(choice, ToolChoice) and choice.name not in names:
            raise ValueError(f"tool_choice: no tool named {choice.name!r} in tools")
        if choice == "required" and not names:
            raise ValueError("tool_choice: 'required' needs tools")
        return self

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


def _check_tool_results(messages: list[Message]) -> None:
    """Every tool result answers a call of an earlier assistant message, once."""
    called: set[str] = set()
    answered: set[str] = set()
    for index, message in enumerate(messages):
        called.update(call.id for call in message.tool_calls)
        call_id = message.tool_call_id
        if call_id is None:
            continue
        if call_id not in called:
            raise ValueError(f"{index}.tool_call_id: no earlier tool call has id {call_id[:64]!r}")
        if call_id in answered:
            raise ValueError(f"{index}.tool_call_id: call {call_id[:64]!r} is answered twice")
        answered.add(call_id)


_BRANCH: Final = re.compile(
    r"(str|int|float|bool|list\[.*|tagged-union\[.*|function-.*|literal\[.*|[A-Z]\w*)"
)
_NAMED: Final = re.compile(r"[\w.]+: ")  # a whole-request check that names its field
_TYPE_MISMATCH: Final = frozenset(
    {
        "string_type",
        "list_type",
        "model_type",
        "dict_type",
        "literal_error",
        "model_attributes_type",
    }
)


def _located(loc: tuple[int | str, ...]) -> tuple[str, str | None]:
    """The field's path without pydantic's union-branch names, and the path up to the first
    branch (``None`` when no union was involved)."""
    kept: list[str] = []
    branch_at: str | None = None
    for part in loc:
        if isinstance(part, str) and _BRANCH.fullmatch(part):
            branch_at = ".".join(kept) if branch_at is None else branch_at
            continue
        kept.append(str(part))
    return ".".join(kept) or "body", branch_at


def invalid_request_from(exc: ValidationError) -> InvalidRequest:
    """One readable message per problem, each naming its field (``messages.0.content``).

    Where a value may take several shapes (a string or a list of parts), the problems of the
    shape the value did take are kept, not "should be a valid string" for the others."""
    found = []
    for err in exc.errors(include_url=False, include_input=False):
        where, branch_at = _located(err["loc"])
        text = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            text = "unknown field"
        found.append((where, branch_at, err["type"] in _TYPE_MISMATCH, text))
    specific = {b for _, b, mismatch, _ in found if b is not None and not mismatch}
    problems: list[str] = []
    for where, branch_at, mismatch, text in found:
        if mismatch and branch_at in specific:
            continue
        problem = text if where == "body" and _NAMED.match(text) else f"{where}: {text}"
        if problem not in problems:
            problems.append(problem)
    return InvalidRequest("; ".join(problems[:5]))  # its param: the first problem's field
