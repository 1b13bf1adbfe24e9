"""``reasoning_effort`` on Bedrock, per model family. Pure.

Converse has one neutral knob, ``outputConfig.effort`` (``low`` / ``medium`` / ``high``),
but it does not turn Claude's extended thinking on: Claude models (a model id, inference
profile or ARN naming ``anthropic.claude``) take Anthropic's own ``thinking`` parameter in
``additionalModelRequestFields``, with the budgets of the ``anthropic`` provider
(:data:`~llmrelay.providers.anthropic_params.THINKING_BUDGETS`), and Anthropic's rules: the
budget stays below ``maxTokens`` (without ``max_tokens`` the budget goes on top of
:data:`DEFAULT_MAX_TOKENS`; a ``max_tokens`` not above it lowers it to ``max_tokens - 1``,
and one not above 1024, the least budget, is refused), and with thinking on no
``temperature`` but 1, no ``top_p`` under 0.95, no forced tool. Every other model gets
``outputConfig.effort`` (``minimal`` as ``low``). ``none`` sends nothing: thinking is off
unless asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from llmrelay.errors import UnsupportedParameter
from llmrelay.providers.anthropic_params import THINKING_BUDGETS
from llmrelay.providers.base import ProviderCall
from llmrelay.tools import ToolChoice

__all__ = ["DEFAULT_MAX_TOKENS", "Reasoning", "reasoning_of"]

DEFAULT_MAX_TOKENS: Final = 4096  # as the anthropic provider's, when thinking needs a bound
_EFFORT: Final = {"minimal": "low", "low": "low", "medium": "medium", "high": "high"}
_MIN_TOP_P: Final = 0.95
_LEAST_BUDGET: Final = THINKING_BUDGETS["minimal"]


@dataclass(frozen=True, slots=True)
class Reasoning:
    """What the request gets: ``effort`` for ``outputConfig``, ``fields`` for
    ``additionalModelRequestFields``, and the ``max_tokens`` to send (``None``: the call's)."""

    effort: str | None = None
    fields: dict[str, Any] | None = None
    max_tokens: int | None = None


def _refuse(param: str, why: str) -> UnsupportedParameter:
    return UnsupportedParameter(
        f"{param}: {why} on provider 'bedrock' (Claude)", param=param, provider="bedrock"
    )


def _claude(call: ProviderCall, effort: str) -> Reasoning:
    budget = THINKING_BUDGETS[effort]  # type: ignore[index]
    if call.max_tokens is None:
        max_tokens = DEFAULT_MAX_TOKENS + budget
    elif call.max_tokens <= _LEAST_BUDGET:
        why = f"must be more than {_LEAST_BUDGET}, Anthropic's least thinking budget,"
        raise _refuse("max_tokens", why)
    else:  # max_tokens is the caller's limit, the effort a hint: the budget fits below it
        max_tokens, budget = call.max_tokens, min(budget, call.max_tokens - 1)
    if call.temperature is not None and call.temperature != 1.0:
        raise _refuse("temperature", "cannot be changed with reasoning_effort")
    if call.top_p is not None and call.top_p < _MIN_TOP_P:
        raise _refuse("top_p", "must be at least 0.95 with reasoning_effort")
    if call.tool_choice == "required" or isinstance(call.tool_choice, ToolChoice):
        raise _refuse("tool_choice", "cannot force a tool with reasoning_effort")
    thinking = {"type": "enabled", "budget_tokens": budget}
    return Reasoning(fields={"thinking": thinking}, max_tokens=max_tokens)


def reasoning_of(call: ProviderCall) -> Reasoning:
    effort = call.reasoning_effort
    if effort is None or effort == "none":
        return Reasoning()
    if "anthropic.claude" in call.model:
        return _claude(call, effort)
    return Reasoning(effort=_EFFORT[effort])
