"""A :class:`ProviderCall` as the keyword arguments of ``messages.create``. Pure.

- ``system``: the merged system prompt; ``max_tokens`` always (Anthropic requires it);
  ``messages`` as :mod:`llmrelay.providers.anthropic_messages` maps them;
- ``tools`` with ``input_schema``; ``tool_choice`` ``auto`` / ``none`` / ``any``
  (``required``) / ``tool`` (a named one), with ``disable_parallel_tool_use`` when
  ``parallel_tool_calls`` is false; ``stop`` as ``stop_sequences``; ``temperature``,
  ``top_p`` and ``top_k`` (in ``extra_body``: this SDK release has no argument for them);
- ``reasoning_effort`` as ``thinking``: ``none`` disables it, the other levels enable it
  with :data:`THINKING_BUDGETS` tokens. The budget must stay below ``max_tokens``: a
  request without ``max_tokens`` gets the budget on top of the default, one whose
  ``max_tokens`` is not above the budget gets the budget ``max_tokens - 1``, and one whose
  ``max_tokens`` is not above 1024 (Anthropic's least budget) is refused;
- ``response_format``: ``json_schema`` as native structured output (``output_config.format``,
  the schema made strict by the SDK's ``transform_schema``); ``json_object`` as a forced tool,
  :data:`JSON_TOOL`, whose input (any JSON object) streams out as the answer's text.

What Anthropic refuses in combination (forced tool use or sampling changes with thinking,
``json_object`` beside the request's own tools) is refused here, before any upstream call,
with an :class:`UnsupportedParameter` naming the parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from llmrelay.errors import InvalidRequest, UnsupportedParameter
from llmrelay.providers.anthropic_messages import anthropic_messages
from llmrelay.providers.base import ProviderCall
from llmrelay.tools import REASONING_BUDGETS, ReasoningEffort, Tool, ToolChoice

__all__ = [
    "JSON_TOOL",
    "THINKING_BUDGETS",
    "AnthropicArguments",
    "anthropic_arguments",
]

JSON = dict[str, Any]
JSON_TOOL: Final = "json_response"
THINKING_BUDGETS: Final[Mapping[ReasoningEffort, int]] = (
    REASONING_BUDGETS  # 1024: Anthropic's least
)
_LEAST_BUDGET: Final = THINKING_BUDGETS["minimal"]
_MIN_TOP_P_WITH_THINKING: Final = 0.95


@dataclass(frozen=True, slots=True)
class AnthropicArguments:
    """``kwargs`` for ``messages.create``; ``json_tool``: the forced tool whose input is the
    answer's text (``None`` unless ``json_object`` was asked for)."""

    kwargs: JSON
    json_tool: str | None = None


def _refuse(call: ProviderCall, param: str, why: str) -> UnsupportedParameter:
    return UnsupportedParameter(
        f"{param}: {why} on provider {call.provider!r}", param=param, provider=call.provider
    )


# -- options ---------------------------------------------------------------------------------


def _tool(tool: Tool) -> JSON:
    param: JSON = {"name": tool.name, "input_schema": tool.parameters}
    if tool.description is not None:
        param["description"] = tool.description
    if tool.strict is not None:
        param["strict"] = tool.strict
    return param


def _tool_choice(call: ProviderCall) -> JSON | None:
    choice = call.tool_choice
    if isinstance(choice, ToolChoice):
        param: JSON = {"type": "tool", "name": choice.name}
    elif choice is None or choice == "auto":
        param = {"type": "auto"}
    else:
        param = {"type": "any" if choice == "required" else "none"}
    if call.parallel_tool_calls is False and param["type"] != "none":
        param["disable_parallel_tool_use"] = True
    return param if choice is not None or len(param) > 1 else None


def _thinking(call: ProviderCall, max_tokens: int) -> tuple[JSON | None, int]:
    """The ``thinking`` parameter and the ``max_tokens`` to send with it."""
    effort = call.reasoning_effort
    if effort is None:
        return None, max_tokens
    if effort == "none":
        return {"type": "disabled"}, max_tokens
    budget = THINKING_BUDGETS[effort]
    if call.max_tokens is None:
        max_tokens += budget
    elif call.max_tokens <= _LEAST_BUDGET:
        why = f"must be more than {_LEAST_BUDGET}, Anthropic's least thinking budget,"
        raise _refuse(call, "max_tokens", why)
    else:  # max_tokens is the caller's limit, the effort a hint: the budget fits below it
        budget = min(budget, call.max_tokens - 1)
    if call.temperature is not None and call.temperature != 1.0:
        raise _refuse(call, "temperature", "cannot be changed with reasoning_effort")
    if call.top_k is not None:
        raise _refuse(call, "top_k", "cannot be changed with reasoning_effort")
    if call.top_p is not None and call.top_p < _MIN_TOP_P_WITH_THINKING:
        raise _refuse(call, "top_p", "must be at least 0.95 with reasoning_effort")
    if call.tool_choice == "required" or isinstance(call.tool_choice, ToolChoice):
        raise _refuse(call, "tool_choice", "cannot force a tool with reasoning_effort")
    return {"type": "enabled", "budget_tokens": budget}, max_tokens


def _json_schema(schema: JSON) -> JSON:
    import anthropic  # already loaded: this runs inside the provider

    try:
        strict = anthropic.transform_schema(schema)
    except (ValueError, TypeError) as exc:
        raise InvalidRequest(f"response_format.schema: {exc}") from None
    return {"format": {"type": "json_schema", "schema": strict}}


def _response_format(call: ProviderCall, kwargs: JSON) -> str | None:
    """Add the response format to ``kwargs``; the forced tool's name, if one is used."""
    fmt = call.response_format
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_schema" and fmt.json_schema is not None:
        kwargs["output_config"] = _json_schema(fmt.json_schema)
        return None
    if call.tools:
        raise _refuse(call, "response_format", "json_object cannot be combined with tools")
    if "thinking" in kwargs and kwargs["thinking"]["type"] == "enabled":
        raise _refuse(call, "response_format", "json_object cannot be used with reasoning_effort")
    description = "Answer with any JSON object: the tool's input is the answer."
    schema = {"type": "object", "additionalProperties": True}
    kwargs["tools"] = [{"name": JSON_TOOL, "description": description, "input_schema": schema}]
    kwargs["tool_choice"] = {"type": "tool", "name": JSON_TOOL}
    return JSON_TOOL


def anthropic_arguments(call: ProviderCall, default_max_tokens: int) -> AnthropicArguments:
    """The arguments of ``messages.create`` for ``call`` (see the module's docstring)."""
    thinking, max_tokens = _thinking(call, call.max_tokens or default_max_tokens)
    kwargs: JSON = {
        "model": call.model,
        "messages": anthropic_messages(call.messages),
        "max_tokens": max_tokens,
    }
    if call.system:
        kwargs["system"] = call.system
    if call.user:
        kwargs["metadata"] = {"user_id": call.user}
    if call.stop:
        kwargs["stop_sequences"] = list(call.stop)
    if thinking is not None:
        kwargs["thinking"] = thinking
    if call.tools:
        kwargs["tools"] = [_tool(tool) for tool in call.tools]
        choice = _tool_choice(call)
        if choice is not None:
            kwargs["tool_choice"] = choice
    json_tool = _response_format(call, kwargs)
    sampling = {"temperature": call.temperature, "top_p": call.top_p, "top_k": call.top_k}
    extra = {name: value for name, value in sampling.items() if value is not None}
    if extra:
        kwargs["extra_body"] = extra
    return AnthropicArguments(kwargs, json_tool)
