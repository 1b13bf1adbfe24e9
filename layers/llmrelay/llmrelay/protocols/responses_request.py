"""OpenAI's Responses request body, read into a :class:`~llmrelay.models.ChatRequest`.

What is honoured: ``model``, ``input`` and ``instructions`` (see
:mod:`llmrelay.protocols.responses_input`), ``stream``, ``temperature``, ``top_p``,
``max_output_tokens``, ``user``, function ``tools`` (``name``, ``description``,
``parameters``, ``strict``), ``tool_choice`` (``auto``, ``none``, ``required``, or one
function), ``parallel_tool_calls``, ``text.format`` (``text``, ``json_object``,
``json_schema`` with ``name``, ``schema``, ``strict``), ``reasoning.effort``; and llmrelay's
own ``context_id`` and ``thread_id`` (``extra_body`` in the SDKs).

llmrelay is stateless: ``previous_response_id``, ``conversation``, ``prompt``, ``store:
true``, ``background: true`` are refused, as are built-in tools, ``truncation: "auto"``, log
probabilities and any ``include`` but ``reasoning.encrypted_content`` (always given), each
with a 400 whose ``param`` names the field. Accepted and ignored: bookkeeping and tuning
that does not change the answer's shape (``metadata``, which the response repeats,
``prompt_cache_*``, ``safety_identifier``, ``service_tier``, ``text.verbosity``,
``reasoning.summary``, ``stream_options``, ``max_tool_calls``). Names the API does not know
are refused. Pure: decoded JSON in, a request or :class:`InvalidRequest` out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from llmrelay.errors import InvalidRequest, LLMRelayError, UnknownModel, UnsupportedParameter
from llmrelay.models import ChatRequest
from llmrelay.protocols.responses_input import Conversation, read_conversation

__all__ = ["ResponsesRequest", "param_of", "parse_responses_request"]

_READ: Final = frozenset(
    {
        "model",
        "input",
        "instructions",
        "stream",
        "temperature",
        "top_p",
        "max_output_tokens",
        "user",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "text",
        "reasoning",
        "context_id",
        "thread_id",
        "include",
    }
)
_IGNORED: Final = frozenset(
    {
        "metadata",
        "max_tool_calls",
        "prompt_cache_key",
        "prompt_cache_options",
        "prompt_cache_retention",
        "safety_identifier",
        "service_tier",
        "stream_options",
    }
)
# Accepted only with a value that asks for nothing llmrelay lacks (stateless, no storage).
_HARMLESS: Final[Mapping[str, tuple[object, ...]]] = {
    "store": (None, False),
    "background": (None, False),
    "previous_response_id": (None,),
    "conversation": (None,),
    "prompt": (None,),
    "truncation": (None, "disabled"),
    "top_logprobs": (None, 0),
}
_INCLUDABLE: Final = frozenset({"reasoning.encrypted_content"})
# The neutral request's field names, as this dialect calls them.
_NAMES: Final = {
    "max_tokens": "max_output_tokens",
    "response_format": "text.format",
    "reasoning_effort": "reasoning.effort",
    "messages": "input",
}
_MESSAGE_PATH: Final = re.compile(r"\bmessages(?:\.|: )(\d+)((?:\.\w+)*)")
_FIELD: Final = re.compile(r"(^|; )(max_tokens|response_format|reasoning_effort|messages)\b")
_LEADING: Final = re.compile(r"([\w.]+): ")


@dataclass(frozen=True, slots=True)
class ResponsesRequest:
    """The chat to answer, whether to stream it, and the request's settings as the
    ``Response`` object repeats them."""

    chat: ChatRequest
    stream: bool
    echo: Mapping[str, object] = field(default_factory=dict)


def param_of(error: LLMRelayError) -> str | None:
    """The request field an error refuses, in this dialect's names: an
    :class:`UnsupportedParameter`'s ``param`` (a provider names the neutral field), else
    the field a request error's message starts with."""
    if isinstance(error, UnsupportedParameter) and error.param is not None:
        head, dot, rest = error.param.partition(".")
        return _NAMES.get(head, head) + dot + rest
    if isinstance(error, InvalidRequest):
        leading = _LEADING.match(error.message)
        return None if leading is None or leading[1] == "body" else leading[1]
    return "model" if isinstance(error, UnknownModel) else None


def _check_parameters(body: Mapping[str, object]) -> None:
    for name, value in body.items():
        if name in _READ or name in _IGNORED:
            continue
        if name not in _HARMLESS:
            raise InvalidRequest(f"{str(name)[:60]}: unrecognized request argument")
        if value not in _HARMLESS[name]:
            allowed = " or ".join(repr(v) for v in _HARMLESS[name] if v is not None) or "null"
            message = f"{name}: not supported by llmrelay, which is stateless (only {allowed})"
            raise UnsupportedParameter(message, param=name)
    include = body.get("include") or []
    if not isinstance(include, list) or not set(include) <= _INCLUDABLE:
        raise UnsupportedParameter(
            "include: only 'reasoning.encrypted_content' (always included)", param="include"
        )


def _tools(value: object) -> object:
    if not isinstance(value, list):
        return value
    tools: list[object] = []
    for index, tool in enumerate(value):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or kind != "function":
            raise UnsupportedParameter(
                f"tools.{index}.type: only 'function' tools (not built-in ones like {kind!r})",
                param=f"tools.{index}.type",
            )
        fields = {k: v for k, v in tool.items() if k != "type" and v is not None}
        if "defer_loading" in fields and fields.pop("defer_loading") is not False:
            raise UnsupportedParameter(
                f"tools.{index}.defer_loading: not supported", param=f"tools.{index}.defer_loading"
            )
        tools.append(fields)
    return tools


def _tool_choice(value: object) -> object:
    if not isinstance(value, dict):
        return value
    if value.get("type") != "function":
        raise UnsupportedParameter(
            "tool_choice.type: only 'function' (or 'auto', 'none', 'required')",
            param="tool_choice.type",
        )
    return {"name": value.get("name")}


def _sub_object(body: Mapping[str, object], name: str, known: set[str]) -> Mapping[str, object]:
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidRequest(f"{name}: must be an object")
    for key in value:
        if key not in known:
            raise InvalidRequest(f"{name}.{str(key)[:40]}: unrecognized request argument")
    return value


def _text_format(body: Mapping[str, object]) -> object:
    wanted = _sub_object(body, "text", {"format", "verbosity"}).get("format")
    if not isinstance(wanted, dict):
        return wanted
    if wanted.get("description") is not None:
        raise UnsupportedParameter(
            "text.format.description: not supported by llmrelay", param="text.format.description"
        )
    return {k: v for k, v in wanted.items() if k != "description" and v is not None}


def _flag(name: str, value: object) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidRequest(f"{name}: must be true or false")
    return value


def _renamed(message: str, conversation: Conversation) -> str:
    """A neutral request's error message in this dialect's names."""

    def message_path(match: re.Match[str]) -> str:
        return conversation.path_of(int(match[1]), match[2])

    message = _MESSAGE_PATH.sub(message_path, message)
    return _FIELD.sub(lambda match: match[1] + _NAMES[match[2]], message)


def _echo(body: Mapping[str, object], chat: ChatRequest) -> dict[str, object]:
    text = _sub_object(body, "text", {"format", "verbosity"})
    reasoning = _sub_object(body, "reasoning", {"effort", "summary", "generate_summary"})
    return {
        "instructions": body.get("instructions"),
        "max_output_tokens": chat.max_tokens,
        "metadata": body.get("metadata") or {},
        "parallel_tool_calls": chat.parallel_tool_calls is not False,
        "reasoning": {"effort": chat.reasoning_effort, "summary": reasoning.get("summary")},
        "temperature": chat.temperature,
        "text": {"format": text.get("format") or {"type": "text"}},
        "tool_choice": body.get("tool_choice") or "auto",
        "tools": body.get("tools") or [],
        "top_p": chat.top_p,
        "truncation": "disabled",
        "user": chat.user,
    }


def parse_responses_request(data: object) -> ResponsesRequest:
    """``data`` (decoded JSON) as a validated request; raises :class:`InvalidRequest`."""
    if not isinstance(data, dict):
        raise InvalidRequest("body: must be a JSON object")
    _check_parameters(data)
    conversation = read_conversation(data.get("instructions"), data.get("input"))
    reasoning = _sub_object(data, "reasoning", {"effort", "summary", "generate_summary"})
    fields = {
        "model": data.get("model"),
        "messages": conversation.messages,
        "temperature": data.get("temperature"),
        "top_p": data.get("top_p"),
        "max_tokens": data.get("max_output_tokens"),
        "user": data.get("user"),
        "context_id": data.get("context_id"),
        "thread_id": data.get("thread_id"),
        "tools": _tools(data.get("tools")),
        "tool_choice": _tool_choice(data.get("tool_choice")),
        "parallel_tool_calls": data.get("parallel_tool_calls"),
        "response_format": _text_format(data),
        "reasoning_effort": reasoning.get("effort"),
    }
    stream = _flag("stream", data.get("stream"))
    try:
        chat = ChatRequest.parse(
            {k: v for k, v in fields.items() if v is not None} | {"stream": stream}
        )
    except InvalidRequest as error:
        raise InvalidRequest(_renamed(error.message, conversation)) from None
    return ResponsesRequest(chat, stream, _echo(data, chat))
