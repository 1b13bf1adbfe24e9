"""A :class:`ProviderCall` as the arguments of Bedrock's ``converse_stream``. Pure.

- ``system`` → ``system: [{text}]``; ``max_tokens``, ``temperature``, ``top_p``, ``stop`` →
  ``inferenceConfig`` (``maxTokens``, ``temperature``, ``topP``, ``stopSequences``);
- user parts: ``text``, inline ``image`` (``image.source.bytes``, the format from its media
  type), ``file`` (``document`` ``pdf`` or ``txt``; its name reduced to the characters
  Bedrock allows, ``document-<n>`` without one);
- assistant parts: ``text``, ``reasoning`` (``reasoningContent.reasoningText`` with its
  signature, and ``redactedContent`` as bytes, both exactly as the answer carried them),
  ``tool_call`` (``toolUse`` with the arguments decoded);
- a ``tool`` message: a ``toolResult`` block (text and images) in a user turn. Consecutive
  turns of one role are merged, as Converse wants roles to alternate;
- ``tools`` → ``toolConfig.tools[].toolSpec`` (``inputSchema.json``, ``strict``);
  ``tool_choice`` ``auto`` / ``required`` / a name → ``auto`` / ``any`` / ``tool``. A
  conversation with tool calls but no tools gets a ``toolConfig`` of the tools it called
  (by name, any object as input): Converse refuses tool blocks without one;
- ``response_format`` ``json_schema`` → ``outputConfig.textFormat``; ``reasoning_effort`` →
  Claude's ``thinking`` in ``additionalModelRequestFields``, else ``outputConfig.effort``
  (:mod:`llmrelay.providers.bedrock_reasoning`); ``user`` → ``requestMetadata.user``.

What Converse cannot take is refused here, before any call, naming the field
(:class:`~llmrelay.errors.UnsupportedParameter`): ``tool_choice: "none"``, ``response_format:
json_object`` (Bedrock needs a schema), a ``user`` with characters request metadata refuses.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any, Final

from llmrelay.errors import UnsupportedParameter
from llmrelay.models import Message
from llmrelay.parts import FilePart, ImagePart, ReasoningPart, TextPart, ToolCallPart
from llmrelay.providers.base import ProviderCall
from llmrelay.providers.bedrock_reasoning import Reasoning, reasoning_of
from llmrelay.tools import ResponseFormat, Tool, ToolChoice

__all__ = ["converse_request", "document_name"]

JSON = dict[str, Any]

_DOCUMENT_FORMATS: Final = {"application/pdf": "pdf", "text/plain": "txt"}
_NAME_REFUSED: Final = re.compile(r"[^A-Za-z0-9\s()\[\]-]+")
_METADATA_VALUE: Final = re.compile(r"[a-zA-Z0-9\s:_@$#=/+,\-.]{0,256}")


def _refuse(param: str, what: str) -> UnsupportedParameter:
    return UnsupportedParameter(
        f"{what}: not supported by provider 'bedrock'", param=param, provider="bedrock"
    )


def document_name(filename: str | None, number: int) -> str:
    """A document name Bedrock accepts (letters, digits, single spaces, hyphens, brackets)."""
    name = " ".join(_NAME_REFUSED.sub("-", filename or "").split()).strip("-")
    return name[:200] or f"document-{number}"


def _image(part: ImagePart) -> JSON:
    if part.data is None or part.media_type is None:
        raise _refuse("messages", "image URLs")  # the registry refuses them first
    fmt = part.media_type.removeprefix("image/")
    return {"image": {"format": fmt, "source": {"bytes": base64.b64decode(part.data)}}}


class _Blocks:
    """Content blocks of one request, numbering its documents."""

    def __init__(self) -> None:
        self._documents: set[str] = set()

    def _document(self, part: FilePart) -> JSON:
        name = base = document_name(part.filename, len(self._documents) + 1)
        while name in self._documents:  # Bedrock wants every document name unique
            name = f"{base} ({len(self._documents) + 1})"
        self._documents.add(name)
        source = {"bytes": base64.b64decode(part.data)}
        fmt = _DOCUMENT_FORMATS[part.media_type]
        return {"document": {"format": fmt, "name": name, "source": source}}

    def user(self, message: Message) -> list[JSON]:
        blocks: list[JSON] = []
        for part in message.parts:
            if isinstance(part, TextPart):
                blocks.append({"text": part.text})
            elif isinstance(part, ImagePart):
                blocks.append(_image(part))
            elif isinstance(part, FilePart):
                blocks.append(self._document(part))
        return blocks

    @staticmethod
    def assistant(message: Message) -> list[JSON]:
        blocks: list[JSON] = []
        for part in message.parts:
            if isinstance(part, TextPart) and part.text:  # Converse refuses a blank text
                blocks.append({"text": part.text})
            elif isinstance(part, ReasoningPart):
                blocks.extend(_reasoning(part))
            elif isinstance(part, ToolCallPart):
                arguments = json.loads(part.arguments) if part.arguments.strip() else {}
                use = {"toolUseId": part.id, "name": part.name, "input": arguments}
                blocks.append({"toolUse": use})
        return blocks

    @staticmethod
    def tool_result(message: Message) -> list[JSON]:
        content: list[JSON] = []
        for part in message.parts:
            if isinstance(part, TextPart):
                content.append({"text": part.text})
            elif isinstance(part, ImagePart):
                content.append(_image(part))
        return [{"toolResult": {"toolUseId": message.tool_call_id, "content": content}}]


def _reasoning(part: ReasoningPart) -> list[JSON]:
    blocks: list[JSON] = []
    if part.text or part.signature:
        text: JSON = {"text": part.text}
        if part.signature is not None:
            text["signature"] = part.signature
        blocks.append({"reasoningContent": {"reasoningText": text}})
    if part.redacted is not None:
        redacted = base64.b64decode(part.redacted)
        blocks.append({"reasoningContent": {"redactedContent": redacted}})
    return blocks


def _messages(call: ProviderCall) -> list[JSON]:
    blocks = _Blocks()
    turns: list[JSON] = []
    for message in call.messages:
        if message.role == "assistant":
            role, content = "assistant", blocks.assistant(message)
        elif message.role == "tool":
            role, content = "user", blocks.tool_result(message)
        else:
            role, content = "user", blocks.user(message)
        if not content:
            continue  # an assistant turn of empty text only: there is nothing to send
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(content)
        else:
            turns.append({"role": role, "content": content})
    return turns


def _tool_spec(tool: Tool) -> JSON:
    spec: JSON = {"name": tool.name, "inputSchema": {"json": tool.parameters}}
    if tool.description:
        spec["description"] = tool.description
    if tool.strict is not None:
        spec["strict"] = tool.strict
    return {"toolSpec": spec}


def _tool_choice(choice: str | ToolChoice) -> JSON:
    if isinstance(choice, ToolChoice):
        return {"tool": {"name": choice.name}}
    if choice == "required":
        return {"any": {}}
    if choice == "auto":
        return {"auto": {}}
    raise _refuse("tool_choice", "tool_choice 'none'")


def _history_tools(call: ProviderCall) -> JSON | None:
    """Bedrock refuses ``toolUse`` / ``toolResult`` blocks without a ``toolConfig``: a
    conversation that carries tool calls but offers no tools now gets the tools it called,
    by name, each taking any object."""
    names = dict.fromkeys(c.name for m in call.messages for c in m.tool_calls)
    if not names:
        return None
    schema: JSON = {"json": {"type": "object"}}
    what = "A tool called earlier in this conversation."
    specs = [{"toolSpec": {"name": n, "description": what, "inputSchema": schema}} for n in names]
    return {"tools": specs}


def _tool_config(call: ProviderCall) -> JSON | None:
    if not call.tools:  # "auto" or "none" with nothing to choose from: nothing to say
        return _history_tools(call)
    config: JSON = {"tools": [_tool_spec(tool) for tool in call.tools]}
    if call.tool_choice is not None:
        config["toolChoice"] = _tool_choice(call.tool_choice)
    return config


def _text_format(fmt: ResponseFormat) -> JSON | None:
    if fmt.type == "text":
        return None
    if fmt.type != "json_schema":
        raise _refuse("response_format", "response_format 'json_object' (give a json_schema)")
    schema = {"schema": json.dumps(fmt.json_schema, separators=(",", ":")), "name": fmt.name}
    return {"type": "json_schema", "structure": {"jsonSchema": schema}}


def _output_config(call: ProviderCall, reasoning: Reasoning) -> JSON | None:
    config: JSON = {}
    if call.response_format is not None:
        text_format = _text_format(call.response_format)
        if text_format is not None:
            config["textFormat"] = text_format
    if reasoning.effort is not None:
        config["effort"] = reasoning.effort
    return config or None


def _inference_config(call: ProviderCall, reasoning: Reasoning) -> JSON | None:
    config: JSON = {}
    max_tokens = reasoning.max_tokens or call.max_tokens
    if max_tokens is not None:
        config["maxTokens"] = max_tokens
    if call.temperature is not None:
        config["temperature"] = call.temperature
    if call.top_p is not None:
        config["topP"] = call.top_p
    if call.stop:
        config["stopSequences"] = list(call.stop)
    return config or None


def _request_metadata(call: ProviderCall) -> JSON | None:
    if call.user is None:
        return None
    if not _METADATA_VALUE.fullmatch(call.user):
        raise _refuse("user", "a user with characters other than letters, digits and :_@$#=/+,-.")
    return {"user": call.user}


def converse_request(call: ProviderCall) -> JSON:
    """The keyword arguments of ``converse_stream`` (and ``converse``) for ``call``."""
    reasoning = reasoning_of(call)
    request: JSON = {"modelId": call.model, "messages": _messages(call)}
    if call.system:
        request["system"] = [{"text": call.system}]
    optional = {
        "inferenceConfig": _inference_config(call, reasoning),
        "toolConfig": _tool_config(call),
        "outputConfig": _output_config(call, reasoning),
        "additionalModelRequestFields": reasoning.fields,
        "requestMetadata": _request_metadata(call),
    }
    request.update((name, value) for name, value in optional.items() if value is not None)
    return request
