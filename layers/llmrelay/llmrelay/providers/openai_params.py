"""A :class:`ProviderCall` in the Chat Completions request's shape (OpenAI, every
OpenAI-compatible preset, and Hugging Face's client, which takes the same JSON). Pure.

- a user message with only text stays a string; otherwise its parts become ``text``,
  ``image_url`` (an inline image as a ``data:`` URL) and ``file`` (``file_data`` as a
  ``data:`` URL) parts;
- an assistant message: its text as ``content`` and its tool calls as ``tool_calls``.
  Reasoning parts are not sent: Chat Completions has no field to take them back;
- a tool message: ``{"role": "tool", "tool_call_id", "content"}`` with its text (an image
  in a tool result is refused: Chat Completions' tool messages take text only);
- ``tools`` as ``function`` tools, ``tool_choice`` (a named tool as
  ``{"type": "function", "function": {"name"}}``), ``parallel_tool_calls``,
  ``response_format`` (``json_schema`` with ``name``, ``schema``, ``strict``), ``stop``,
  ``top_p``, ``seed``, ``reasoning_effort``: each only when the request sets it (and the
  tool settings only with tools, as OpenAI refuses them otherwise).
"""

from __future__ import annotations

from typing import Any

from llmrelay.errors import UnsupportedParameter
from llmrelay.models import Message
from llmrelay.parts import FilePart, ImagePart, TextPart
from llmrelay.providers.base import ProviderCall
from llmrelay.tools import ResponseFormat, Tool, ToolChoice

__all__ = ["openai_messages", "openai_options", "response_format_param", "tool_param"]

JSON = dict[str, Any]


def _part(part: object) -> JSON | None:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, ImagePart):
        url = part.url or f"data:{part.media_type};base64,{part.data}"
        return {"type": "image_url", "image_url": {"url": url}}
    if isinstance(part, FilePart):
        file: JSON = {"file_data": f"data:{part.media_type};base64,{part.data}"}
        if part.filename:
            file["filename"] = part.filename
        return {"type": "file", "file": file}
    return None


def _user(message: Message) -> JSON:
    if isinstance(message.content, str):
        return {"role": "user", "content": message.content}
    parts = [p for p in (_part(part) for part in message.content) if p is not None]
    return {"role": "user", "content": parts}


def _assistant(message: Message) -> JSON:
    body: JSON = {"role": "assistant", "content": message.text or None}
    calls = message.tool_calls
    if calls:
        body["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in calls
        ]
    elif body["content"] is None:
        body["content"] = ""
    return body


def _tool_result(message: Message, provider: str) -> JSON:
    if any(isinstance(part, ImagePart) for part in message.parts):
        # Named as ``messages`` alone: a dialect's own indices differ from the neutral ones.
        raise UnsupportedParameter(
            f"messages: images in tool results are not supported by provider {provider!r}",
            param="messages",
            provider=provider,
        )
    return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.text}


def openai_messages(call: ProviderCall) -> list[JSON]:
    messages: list[JSON] = []
    if call.system:
        messages.append({"role": "system", "content": call.system})
    for message in call.messages:
        if message.role == "assistant":
            messages.append(_assistant(message))
        elif message.role == "tool":
            messages.append(_tool_result(message, call.provider))
        else:
            messages.append(_user(message))
    return messages


def tool_param(tool: Tool) -> JSON:
    function: JSON = {"name": tool.name, "parameters": tool.parameters}
    if tool.description is not None:
        function["description"] = tool.description
    if tool.strict is not None:
        function["strict"] = tool.strict
    return {"type": "function", "function": function}


def response_format_param(fmt: ResponseFormat) -> JSON:
    if fmt.type != "json_schema":
        return {"type": fmt.type}
    schema: JSON = {"name": fmt.name, "schema": fmt.json_schema}
    if fmt.strict is not None:
        schema["strict"] = fmt.strict
    return {"type": "json_schema", "json_schema": schema}


def _tool_choice(choice: str | ToolChoice) -> object:
    if isinstance(choice, ToolChoice):
        return {"type": "function", "function": {"name": choice.name}}
    return choice


def openai_options(call: ProviderCall) -> JSON:
    """The optional request fields, only those the request sets."""
    options: JSON = {}
    if call.tools:  # OpenAI refuses the tool settings without tools (they ask nothing then)
        options["tools"] = [tool_param(tool) for tool in call.tools]
        if call.tool_choice is not None:
            options["tool_choice"] = _tool_choice(call.tool_choice)
        if call.parallel_tool_calls is not None:
            options["parallel_tool_calls"] = call.parallel_tool_calls
    if call.response_format is not None:
        options["response_format"] = response_format_param(call.response_format)
    if call.stop:
        options["stop"] = list(call.stop)
    if call.top_p is not None:
        options["top_p"] = call.top_p
    if call.seed is not None:
        options["seed"] = call.seed
    if call.reasoning_effort is not None:
        options["reasoning_effort"] = call.reasoning_effort
    return options
