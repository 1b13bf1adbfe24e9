"""OpenAI's chat completions request body, read into a :class:`~llmrelay.models.ChatRequest`.

What is honoured: ``model``, ``messages`` (roles ``system``, ``developer`` (as system),
``user``, ``assistant``; content a string or a list of ``text`` parts, joined with a
newline), ``stream``, ``stream_options.include_usage``, ``temperature``,
``max_completion_tokens`` (else ``max_tokens``), ``user``; and llmrelay's own
``context_id`` and ``thread_id`` (``extra_body`` in the SDKs).

What is refused with a 400 that names the parameter: anything whose answer llmrelay cannot
give (tools and function calls, ``n`` > 1, log probabilities, audio, non-text response
formats or content parts) and names OpenAI does not know either (a typo must not be
silently dropped). What is accepted and ignored: OpenAI's tuning and bookkeeping
parameters that do not change the shape of the answer (``top_p``, ``stop``, ``seed``,
penalties, ``metadata``, ``store``, ``service_tier``, ...), so tools that send their
defaults work. Pure: decoded JSON in, a request or :class:`InvalidRequest` out.
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
        "parallel_tool_calls",
        "presence_penalty",
        "prompt_cache_key",
        "prompt_cache_retention",
        "reasoning_effort",
        "safety_identifier",
        "seed",
        "service_tier",
        "stop",
        "store",
        "top_p",
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
        "stream",
        "stream_options",
        "temperature",
        "thread_id",
        "user",
    }
)
# Accepted only with the value that asks for nothing llmrelay lacks.
_HARMLESS: Final[Mapping[str, tuple[object, ...]]] = {
    "n": (None, 1),
    "logprobs": (None, False),
    "tool_choice": (None, "none"),
    "tools": (None, []),
    "functions": (None, []),
    "modalities": (None, ["text"]),
    "response_format": (None, {"type": "text"}),
}
_ROLES: Final = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
}


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


def _content(value: object, where: str) -> object:
    """A string as is; a list of text parts joined; anything else left to ``ChatRequest``."""
    if not isinstance(value, list):
        return value
    texts: list[str] = []
    for index, part in enumerate(value):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "refusal":
            continue
        text = part.get("text") if isinstance(part, dict) else None
        if kind != "text" or not isinstance(text, str):
            raise InvalidRequest(f"{where}.{index}: only parts of type 'text' are supported")
        texts.append(text)
    return "\n".join(texts)


def _message(value: object, index: int) -> object:
    where = f"messages.{index}"
    if not isinstance(value, dict):
        return value  # ChatRequest names the problem
    role = value.get("role")
    if not isinstance(role, str) or role not in _ROLES:
        raise InvalidRequest(f"{where}.role: must be one of {', '.join(_ROLES)}")
    return {"role": _ROLES[role], "content": _content(value.get("content"), f"{where}.content")}


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
