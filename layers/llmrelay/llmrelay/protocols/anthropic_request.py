"""Anthropic's Messages request body (``POST /v1/messages``), read into a
:class:`~llmrelay.models.ChatRequest`.

Honoured: ``model`` (``provider/model``; a bare ``claude-…`` name, what Claude Code and
Anthropic's own examples send, is ``anthropic/claude-…``), ``messages`` and ``system`` (see
:mod:`llmrelay.protocols.anthropic_content`), ``max_tokens`` (required, as Anthropic
requires it), ``stream``, ``stop_sequences``, ``temperature``, ``top_p``, ``top_k`` (refused for a
provider that cannot take it), custom ``tools``
(``name``, ``description``, ``input_schema``, ``strict``), ``tool_choice`` (``auto``,
``any`` as ``required``, ``tool`` as that tool, ``none``; ``disable_parallel_tool_use:
true`` as ``parallel_tool_calls: false``), ``thinking`` and ``output_config.effort`` as the
request's ``reasoning_effort`` (below), ``output_config.format`` (a JSON schema) as its
``response_format``, ``metadata.user_id`` as its ``user``, and llmrelay's own
``context_id`` and ``thread_id`` (``extra_body`` in the SDK).

``thinking``: ``{"type": "enabled", "budget_tokens": n}`` (at least 1024 and less than
``max_tokens``, as Anthropic checks) asks for the largest effort whose budget
(:data:`llmrelay.tools.REASONING_BUDGETS`: ``minimal`` 1024, ``low`` 2048, ``medium`` 8192,
``high`` 16384) fits in ``n``, so a provider never spends more than was asked; ``adaptive``
asks for ``medium``; ``disabled`` asks for nothing. An ``output_config.effort`` says it
directly (``xhigh`` and ``max`` as ``high``).

Accepted and ignored, because they do not change the answer: ``cache_control`` (prompt
caching hints, here and on blocks), ``service_tier``, ``inference_geo``, ``speed``,
``diagnostics``, ``workspace_id``, ``user_profile_id``. Refused with a 400 naming them:
server tools, ``container``,
``mcp_servers``, ``context_management`` and any field Anthropic does not know either.
Pure: decoded JSON in, a request or :class:`InvalidRequest` out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from llmrelay.errors import InvalidRequest
from llmrelay.models import ChatRequest
from llmrelay.protocols.anthropic_content import neutral_messages, system_messages
from llmrelay.tools import effort_for_budget

__all__ = [
    "IGNORED_PARAMETERS",
    "AnthropicRequest",
    "dialect_names",
    "parse_anthropic_request",
]

IGNORED_PARAMETERS: Final = frozenset(
    {
        "cache_control",
        "diagnostics",
        "inference_geo",
        "service_tier",
        "speed",
        "user_profile_id",
        "workspace_id",
    }
)
_HONOURED: Final = frozenset(
    {
        "context_id",
        "max_tokens",
        "messages",
        "metadata",
        "model",
        "output_config",
        "stop_sequences",
        "stream",
        "system",
        "temperature",
        "thinking",
        "thread_id",
        "tool_choice",
        "tools",
        "top_k",
        "top_p",
    }
)
_TOOL_FIELDS: Final = frozenset(
    {"type", "name", "description", "input_schema", "strict", "cache_control"}
)
_CHOICES: Final[Mapping[str, str]] = {"auto": "auto", "any": "required", "none": "none"}
_EFFORTS: Final[Mapping[str, str]] = {
    "low": "low",
    "medium": "medium",
    "high": "high",
    "xhigh": "high",
    "max": "high",
}
_CONFIG_FIELDS: Final = frozenset({"effort", "format"})
_MIN_BUDGET: Final = 1024
# The neutral request's names, as this dialect spells them (for its error messages).
_RENAMED: Final = (
    (re.compile(r"\bparameters\b"), "input_schema"),
    (re.compile(r"^stop\b|(?<=; )stop\b"), "stop_sequences"),
    (re.compile(r"^user\b|(?<=; )user\b"), "metadata.user_id"),
    (re.compile(r"\breasoning_effort\b"), "thinking"),
    (re.compile(r"\bparallel_tool_calls\b"), "tool_choice.disable_parallel_tool_use"),
    (re.compile(r"\bresponse_format\b"), "output_config.format"),
)

Json = dict[str, object]


@dataclass(frozen=True, slots=True)
class AnthropicRequest:
    chat: ChatRequest
    stream: bool


def _check_parameters(body: Mapping[str, object]) -> None:
    for name in body:
        if name not in _HONOURED and name not in IGNORED_PARAMETERS:
            raise InvalidRequest(f"{name[:60]}: Extra inputs are not permitted")
    if "max_tokens" not in body:
        raise InvalidRequest("max_tokens: Field required")


def _object(value: object, where: str, fields: frozenset[str]) -> Json:
    if not isinstance(value, dict):
        raise InvalidRequest(f"{where}: must be an object")
    unknown = sorted(set(value) - fields)
    if unknown:
        raise InvalidRequest(f"{where}.{unknown[0][:60]}: Extra inputs are not permitted")
    return value


def _tools(value: object) -> list[Json] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise InvalidRequest("tools: must be a list of tools")
    tools: list[Json] = []
    for index, raw in enumerate(value):
        where = f"tools.{index}"
        kind = raw.get("type") if isinstance(raw, dict) else None
        if kind not in (None, "custom"):
            raise InvalidRequest(f"{where}.type: {str(kind)[:60]!r} tools are not supported")
        tool = _object(raw, where, _TOOL_FIELDS)
        if "input_schema" not in tool:
            raise InvalidRequest(f"{where}.input_schema: Field required")
        entry = {"name": tool.get("name"), "parameters": tool["input_schema"]}
        entry |= {k: tool[k] for k in ("description", "strict") if tool.get(k) is not None}
        tools.append(entry)
    return tools


def _tool_choice(value: object) -> tuple[object, bool | None]:
    """The neutral ``tool_choice`` and ``parallel_tool_calls``."""
    if value is None:
        return None, None
    choice = _object(value, "tool_choice", frozenset({"type", "name", "disable_parallel_tool_use"}))
    kind, disable = choice.get("type"), choice.get("disable_parallel_tool_use")
    if disable is not None and not isinstance(disable, bool):
        raise InvalidRequest("tool_choice.disable_parallel_tool_use: must be true or false")
    parallel = False if disable else None
    if kind == "tool":
        return {"name": choice.get("name")}, parallel
    if not isinstance(kind, str) or kind not in _CHOICES:
        raise InvalidRequest("tool_choice.type: must be one of auto, any, tool, none")
    if "name" in choice:
        raise InvalidRequest("tool_choice.name: only a choice of type 'tool' names a tool")
    return _CHOICES[kind], parallel


def _budget_effort(thinking: Json, max_tokens: object) -> str:
    budget = thinking.get("budget_tokens")
    if not isinstance(budget, int) or isinstance(budget, bool):
        raise InvalidRequest("thinking.budget_tokens: must be an integer")
    if budget < _MIN_BUDGET:
        raise InvalidRequest(f"thinking.budget_tokens: must be at least {_MIN_BUDGET}")
    if isinstance(max_tokens, int) and budget >= max_tokens:
        raise InvalidRequest("thinking.budget_tokens: must be less than max_tokens")
    return effort_for_budget(budget)


def _effort(body: Mapping[str, object], config: Json) -> str | None:
    """The neutral ``reasoning_effort`` that ``thinking`` and ``output_config`` ask for."""
    effort = config.get("effort")
    if effort is not None and (not isinstance(effort, str) or effort not in _EFFORTS):
        raise InvalidRequest(f"output_config.effort: must be one of {', '.join(_EFFORTS)}")
    value = body.get("thinking")
    if value is None:
        return None if effort is None else _EFFORTS[effort]
    fields = frozenset({"type", "budget_tokens", "display"})
    thinking = _object(value, "thinking", fields)
    if thinking.get("display") not in (None, "summarized"):
        raise InvalidRequest("thinking.display: only 'summarized' is supported by llmrelay")
    kind = thinking.get("type")
    if kind == "disabled":
        return None
    if kind not in ("enabled", "adaptive"):
        raise InvalidRequest("thinking.type: must be one of enabled, adaptive, disabled")
    if effort is not None:
        return _EFFORTS[effort]
    return "medium" if kind == "adaptive" else _budget_effort(thinking, body.get("max_tokens"))


def _response_format(config: Json) -> Json | None:
    value = config.get("format")
    if value is None:
        return None
    fmt = _object(value, "output_config.format", frozenset({"type", "schema"}))
    if fmt.get("type") != "json_schema":
        raise InvalidRequest("output_config.format.type: must be 'json_schema'")
    return {"type": "json_schema", "schema": fmt.get("schema")}


def _user(value: object) -> object:
    if value is None:
        return None
    return _object(value, "metadata", frozenset({"user_id"})).get("user_id")


def _flag(value: object) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidRequest("stream: must be true or false")
    return value


def dialect_names(message: str, origins: Sequence[str] = ()) -> str:
    """A neutral request's error message in this dialect's names, and with its message
    indices as the client's (``origins``: where each neutral message came from)."""

    def origin(match: re.Match[str]) -> str:
        index = int(match[1])
        return origins[index] if index < len(origins) else match[0]

    message = re.sub(r"\bmessages\.(\d+)", origin, message)
    for pattern, name in _RENAMED:
        message = pattern.sub(name, message)
    return message


def _model(value: object) -> object:
    """A bare Claude model name means Anthropic's; any other name is left as it came."""
    if isinstance(value, str) and value.startswith("claude-") and "/" not in value:
        return f"anthropic/{value}"
    return value


def parse_anthropic_request(data: object) -> AnthropicRequest:
    """``data`` (decoded JSON) as a validated request; raises :class:`InvalidRequest`."""
    if not isinstance(data, dict):
        raise InvalidRequest("body: must be a JSON object")
    _check_parameters(data)
    system = system_messages(data.get("system"))
    origins = ["system"] * len(system)
    messages = system
    for index, message in neutral_messages(data.get("messages")):
        origins.append(f"messages.{index}")
        messages.append(message)
    config = data.get("output_config")
    config = {} if config is None else _object(config, "output_config", _CONFIG_FIELDS)
    choice, parallel = _tool_choice(data.get("tool_choice"))
    stops = data.get("stop_sequences")
    fields = {
        "model": _model(data.get("model")),
        "messages": messages,
        "max_tokens": data.get("max_tokens"),
        "temperature": data.get("temperature"),
        "top_p": data.get("top_p"),
        "top_k": data.get("top_k"),
        "stop": None if stops == [] else stops,
        "tools": _tools(data.get("tools")),
        "tool_choice": choice,
        "parallel_tool_calls": parallel,
        "reasoning_effort": _effort(data, config),
        "response_format": _response_format(config),
        "user": _user(data.get("metadata")),
        "context_id": data.get("context_id"),
        "thread_id": data.get("thread_id"),
    }
    stream = _flag(data.get("stream"))
    present = {name: value for name, value in fields.items() if value is not None}
    try:
        chat = ChatRequest.parse(present | {"stream": stream})
    except InvalidRequest as error:
        raise InvalidRequest(dialect_names(error.message, origins)) from None
    return AnthropicRequest(chat, stream)
