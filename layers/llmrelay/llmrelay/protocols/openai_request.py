"""OpenAI's chat completions request body, read into a :class:`~llmrelay.models.ChatRequest`.

What is honoured: ``model``, ``messages`` (roles ``system``, ``developer`` (as system),
``user``, ``assistant`` with its ``tool_calls``, ``tool``; content a string or a list of
``text``, ``image_url`` and ``file`` parts), ``stream``, ``stream_options.include_usage``,
``temperature``, ``max_completion_tokens`` (else ``max_tokens``), ``user``, function
``tools``, ``tool_choice``, ``parallel_tool_calls``, ``response_format``, ``stop``, ``top_p``,
``seed``, ``reasoning_effort``; and llmrelay's own ``context_id`` and ``thread_id``
(``extra_body`` in the SDKs).

What is refused with a 400 that names the parameter: anything whose answer llmrelay cannot
give (legacy functions, ``n`` > 1, log probabilities, audio, other tools and content parts)
and names OpenAI does not know either, at the top level and inside messages and parts (a
typo must not be silently dropped). What is accepted and ignored: OpenAI's tuning and
bookkeeping parameters that do not change the shape of the answer (penalties,
``metadata``, ``store``, ``service_tier``, ...), and inside messages what a round trip of
an answer carries or changes nothing llmrelay can give (``name``, ``refusal``,
``annotations``, ``reasoning_content``, an image's ``detail``, ``cache_control``), so tools
that send their defaults work. Pure: decoded JSON in, a request or :class:`InvalidRequest`
out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from llmrelay.errors import InvalidRequest
from llmrelay.models import ChatRequest

__all__ = ["IGNORED_PARAMETERS", "OpenAIRequest", "parse_openai_request"]

IGNORED_PARAMETERS: Final = frozenset(
    {
        "frequency_penalty",
        "logit_bias",
        "metadata",
        "presence_penalty",
        "prompt_cache_key",
        "prompt_cache_retention",
        "safety_identifier",
        "service_tier",
        "store",
        "verbosity",
    }
)
_HONOURED: Final = frozenset(
    {
        "context_id",
        "max_completion_tokens",
        "max_tokens",
        "messages",
        "model",
        "parallel_tool_calls",
        "reasoning_effort",
        "response_format",
        "seed",
        "stop",
        "stream",
        "stream_options",
        "temperature",
        "thread_id",
        "tool_choice",
        "tools",
        "top_p",
        "user",
    }
)
# Passed to ChatRequest as they are: it validates them and names the field.
_PASSED: Final = ("parallel_tool_calls", "reasoning_effort", "seed", "stop", "top_p")
# Accepted only with the value that asks for nothing llmrelay lacks.
_HARMLESS: Final[Mapping[str, tuple[object, ...]]] = {
    "n": (None, 1),
    "logprobs": (None, False),
    "functions": (None, []),
    "modalities": (None, ["text"]),
}
_ROLES: Final = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
}


# Inside messages and parts: the fields read, or accepted and ignored (see the docstring).
_MESSAGE_FIELDS: Final = frozenset(
    {"role", "content", "name", "tool_calls", "tool_call_id", "refusal", "annotations"}
    | {"reasoning_content", "audio", "function_call"}
)
_PART_FIELDS: Final[Mapping[str, frozenset[str]]] = {
    "text": frozenset({"type", "text", "cache_control"}),
    "image_url": frozenset({"type", "image_url", "cache_control"}),
    "file": frozenset({"type", "file", "cache_control"}),
}
_INNER_FIELDS: Final = {
    "image_url": frozenset({"url", "detail"}),
    "file": frozenset({"file_data", "filename"}),
}
# Round-trip fields llmrelay cannot honour when set (legacy functions, audio).
_NULL_ONLY: Final = ("function_call", "audio")


def _known(value: Mapping[str, object], fields: frozenset[str], where: str) -> None:
    unknown = next((name for name in value if name not in fields), None)
    if unknown is not None:
        raise InvalidRequest(f"{where}.{str(unknown)[:60]}: unknown field")


@dataclass(frozen=True, slots=True)
class OpenAIRequest:
    chat: ChatRequest
    stream: bool
    include_usage: bool


def _check_parameters(body: Mapping[str, object]) -> None:
    for name, value in body.items():
        if name in _HONOURED or name in IGNORED_PARAMETERS:
            continue
        if name not in _HARMLESS:
            raise InvalidRequest(f"{name[:60]}: unrecognized request argument")
        if value not in _HARMLESS[name]:
            raise InvalidRequest(f"{name}: not supported by llmrelay (only {_HARMLESS[name][1]!r})")


def _part(part: object, where: str) -> dict[str, object] | None:
    """One OpenAI content part as llmrelay's (``None``: a refusal, not model input)."""
    kind = part.get("type") if isinstance(part, dict) else None
    if not isinstance(part, dict) or kind == "refusal":
        return None
    if isinstance(kind, str) and kind in _PART_FIELDS:
        _known(part, _PART_FIELDS[kind], where)
        inner = part.get(kind)
        if kind in _INNER_FIELDS and isinstance(inner, dict):
            _known(inner, _INNER_FIELDS[kind], f"{where}.{kind}")
    if kind == "text":
        return {"type": "text", "text": part.get("text")}
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else None
        return {"type": "image", "url": url}
    if kind == "file":
        file = part.get("file")
        if not isinstance(file, dict) or not isinstance(file.get("file_data"), str):
            raise InvalidRequest(f"{where}.file.file_data: a base64 data: URL is required")
        fields = {"type": "file", "data": file["file_data"], "media_type": "application/pdf"}
        return fields | ({"filename": file["filename"]} if "filename" in file else {})
    raise InvalidRequest(f"{where}.type: parts of type {str(kind)[:40]!r} are not supported")


def _content(value: object, where: str) -> object:
    """A string as is; a list of parts translated; anything else left to ``ChatRequest``."""
    if not isinstance(value, list):
        return value
    parts = [_part(part, f"{where}.{index}") for index, part in enumerate(value)]
    return [part for part in parts if part is not None]


def _tool_calls(value: object, where: str) -> list[dict[str, object]]:
    if not isinstance(value, list):
        raise InvalidRequest(f"{where}: must be a list of tool calls")
    calls: list[dict[str, object]] = []
    for index, call in enumerate(value):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(call, dict) or not isinstance(function, dict):
            raise InvalidRequest(f"{where}.{index}.function: must be an object")
        calls.append(
            {
                "type": "tool_call",
                "id": call.get("id"),
                "name": function.get("name"),
                "arguments": function.get("arguments", "{}"),
            }
        )
    return calls


def _message(value: object, index: int) -> object:
    where = f"messages.{index}"
    if not isinstance(value, dict):
        return value  # ChatRequest names the problem
    role = value.get("role")
    if not isinstance(role, str) or role not in _ROLES:
        raise InvalidRequest(f"{where}.role: must be one of {', '.join(_ROLES)}")
    _known(value, _MESSAGE_FIELDS, where)
    for name in _NULL_ONLY:
        if value.get(name) is not None:
            raise InvalidRequest(f"{where}.{name}: not supported by llmrelay (only null)")
    content = _content(value.get("content"), f"{where}.content")
    message: dict[str, object] = {"role": _ROLES[role], "content": content}
    if role == "assistant" and value.get("tool_calls"):
        calls = _tool_calls(value["tool_calls"], f"{where}.tool_calls")
        text = [] if content in (None, "") else content
        text = [{"type": "text", "text": text}] if isinstance(text, str) else text
        message["content"] = [*text, *calls] if isinstance(text, list) else text
    if role == "tool":
        message["tool_call_id"] = value.get("tool_call_id")
    return message


def _tools(value: object) -> object:
    if not isinstance(value, list):
        return value
    tools: list[object] = []
    for index, tool in enumerate(value):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise InvalidRequest(f"tools.{index}.type: only 'function' tools are supported")
        if not isinstance(function, dict):
            raise InvalidRequest(f"tools.{index}.function: must be an object")
        tools.append({k: v for k, v in function.items() if v is not None})
    return tools


def _tool_choice(value: object) -> object:
    if isinstance(value, dict) and value.get("type") == "function":
        function = value.get("function")
        return {"name": function.get("name") if isinstance(function, dict) else None}
    return value


def _response_format(value: object) -> object:
    if isinstance(value, dict) and value.get("type") == "json_schema":
        inner = value.get("json_schema")
        if not isinstance(inner, dict):
            raise InvalidRequest("response_format.json_schema: must be an object")
        fields = {k: inner[k] for k in ("name", "schema", "strict") if inner.get(k) is not None}
        return {"type": "json_schema", **fields}
    return value


def _flag(name: str, value: object) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidRequest(f"{name}: must be true or false")
    return value


def _include_usage(body: Mapping[str, object]) -> bool:
    options = body.get("stream_options")
    if options is None:
        return False
    if not isinstance(options, dict):
        raise InvalidRequest("stream_options: must be an object")
    return _flag("stream_options.include_usage", options.get("include_usage"))


def parse_openai_request(data: object) -> OpenAIRequest:
    """``data`` (decoded JSON) as a validated request; raises :class:`InvalidRequest`."""
    if not isinstance(data, dict):
        raise InvalidRequest("body: must be a JSON object")
    _check_parameters(data)
    messages = data.get("messages")
    if isinstance(messages, list):
        messages = [_message(message, index) for index, message in enumerate(messages)]
    tokens = data.get("max_completion_tokens")
    fields = {
        "model": data.get("model"),
        "messages": messages,
        "temperature": data.get("temperature"),
        "max_tokens": data.get("max_tokens") if tokens is None else tokens,
        "user": data.get("user"),
        "context_id": data.get("context_id"),
        "thread_id": data.get("thread_id"),
        "tools": _tools(data.get("tools")),
        "tool_choice": _tool_choice(data.get("tool_choice")),
        "response_format": _response_format(data.get("response_format")),
        **{name: data.get(name) for name in _PASSED},
    }
    stream = _flag("stream", data.get("stream"))
    try:
        chat = ChatRequest.parse(
            {k: v for k, v in fields.items() if v is not None} | {"stream": stream}
        )
    except InvalidRequest as error:
        if tokens is None:
            raise
        raise InvalidRequest(
            error.message.replace("max_tokens:", "max_completion_tokens:")
        ) from None
    return OpenAIRequest(chat, stream, _include_usage(data))
