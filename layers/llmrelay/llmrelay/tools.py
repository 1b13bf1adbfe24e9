"""What a request may offer the model besides messages: tools, the choice among them, and
the format of its answer.

- ``Tool`` ``{name, description?, parameters?, strict?}``: ``parameters`` is the JSON Schema
  of an object (default: an object with no properties), at most
  ``LLMRELAY_MAX_SCHEMA_BYTES`` of JSON;
- ``tool_choice``: ``"auto"``, ``"none"``, ``"required"``, or ``{"name": ...}`` for one tool;
- ``ResponseFormat`` ``{type: "text" | "json_object" | "json_schema", name?, schema?,
  strict?}``; ``json_schema`` needs its ``schema`` (an object's).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from llmrelay.config import get_settings

__all__ = [
    "REASONING_BUDGETS",
    "ReasoningEffort",
    "ResponseFormat",
    "Tool",
    "ToolChoice",
    "ToolChoiceName",
    "effort_for_budget",
]

ReasoningEffort = Literal["none", "minimal", "low", "medium", "high"]
# The thinking tokens each effort stands for where an API counts reasoning in tokens
# (Anthropic's ``thinking.budget_tokens``): what a provider spends, and how a client's budget
# reads as an effort.
REASONING_BUDGETS: Final[Mapping[ReasoningEffort, int]] = MappingProxyType(
    {"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384}
)
ToolChoiceName = Literal["auto", "none", "required"]
_NAME_PATTERN: Final = r"^[a-zA-Z0-9_-]{1,64}$"
_STRICT = ConfigDict(extra="forbid", frozen=True, strict=True)
_EMPTY_OBJECT: Final[dict[str, Any]] = {"type": "object", "properties": {}}


def effort_for_budget(budget: int) -> ReasoningEffort:
    """The largest effort whose budget fits in ``budget`` (``minimal`` below them all), so
    that the budget a provider then spends is never more than the one asked for."""
    fitting = [effort for effort, tokens in REASONING_BUDGETS.items() if tokens <= budget]
    return fitting[-1] if fitting else "minimal"


def object_schema(value: dict[str, Any], what: str = "schema") -> dict[str, Any]:
    """``value`` if it looks like the JSON Schema of an object and fits the size limit."""
    size = len(json.dumps(value, separators=(",", ":")).encode())
    limit = get_settings().max_schema_bytes
    if size > limit:
        raise ValueError(f"{what} must be at most {limit} bytes of JSON (got {size})")
    kind = value.get("type", "object")
    if kind != "object":
        raise ValueError(f"{what} must describe an object (type 'object'), not {kind!r}")
    properties = value.get("properties", {})
    if not isinstance(properties, dict) or not all(
        isinstance(p, dict | bool) for p in properties.values()
    ):
        raise ValueError(f"{what}.properties must map names to schemas")
    required = value.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise ValueError(f"{what}.required must be a list of property names")
    return value


class Tool(BaseModel):
    model_config = _STRICT

    name: str = Field(pattern=_NAME_PATTERN)
    description: str | None = Field(default=None, max_length=10_000)
    parameters: dict[str, Any] = Field(default_factory=lambda: dict(_EMPTY_OBJECT))
    strict: bool | None = None

    @field_validator("parameters")
    @classmethod
    def _object_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        return object_schema(value, "parameters")


class ToolChoice(BaseModel):
    """Call this one tool."""

    model_config = _STRICT

    name: str = Field(pattern=_NAME_PATTERN)


class ResponseFormat(BaseModel):
    """``{"type", "name"?, "schema"?, "strict"?}``; OpenAI's nesting of the last three in a
    ``json_schema`` object is read as well, so neither shape is taken for the other."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    type: Literal["text", "json_object", "json_schema"]
    name: str = Field(default="response", pattern=_NAME_PATTERN)
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _openai_nesting(cls, data: Any) -> Any:
        if isinstance(data, dict) and "json_schema" in data:
            nested = data["json_schema"]
            if not isinstance(nested, dict) or "schema" in data:
                raise ValueError("json_schema: must be an object of name, schema and strict")
            rest = {key: value for key, value in data.items() if key != "json_schema"}
            return {**rest, **nested}
        return data

    @model_validator(mode="after")
    def _schema_when_needed(self) -> ResponseFormat:
        if self.type == "json_schema":
            if self.json_schema is None:
                raise ValueError("type 'json_schema' needs a schema")
            object_schema(self.json_schema)
        elif self.json_schema is not None:
            raise ValueError(f"type {self.type!r} takes no schema")
        return self

    @property
    def wants_json(self) -> bool:
        return self.type != "text"
