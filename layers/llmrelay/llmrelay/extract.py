"""Structured extraction: ask a model for JSON that matches a pydantic model, get an instance.

>>> class Flow(BaseModel):
...     title: str
...     priority: Literal["low", "medium", "high"]
>>> class Flows(BaseModel):
...     flows: list[Flow]
>>> found = await extract(ChatRequest(model="openai/gpt-4o-mini", messages=[...]), Flows)

The request goes out with ``response_format`` ``json_schema`` (the model's JSON Schema,
``strict`` when the schema allows it: every object closed and every property required, as
OpenAI's strict mode wants), through :func:`llmrelay.stream_chat`, so each provider maps it
its own way (OpenAI's structured outputs, Anthropic's, Hugging Face's grammar). What comes
back is validated by the model; an answer that is cut short or does not match raises
:class:`ExtractionFailed`, which keeps the text the model wrote. A provider that cannot do
structured output refuses before any call (``unsupported_parameter``).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationError

from llmrelay.config import Settings
from llmrelay.errors import InvalidRequest, LLMRelayError
from llmrelay.events import Finish, StreamEvent, TextDelta
from llmrelay.models import ChatRequest
from llmrelay.secrets import SecretStore
from llmrelay.tools import ResponseFormat

__all__ = ["ExtractionFailed", "extract", "json_schema_of"]

ModelT = TypeVar("ModelT", bound=BaseModel)
Stream = Callable[..., AsyncIterator[StreamEvent]]
_NAME: Final = re.compile(r"[^A-Za-z0-9_-]")


class ExtractionFailed(LLMRelayError):
    """The model's answer is not an instance of the requested model; ``text`` is what it
    wrote, ``reason`` how the answer finished."""

    code = "extraction_failed"
    status = 502

    def __init__(self, message: str, *, text: str, reason: str) -> None:
        super().__init__(message)
        self.text = text
        self.reason = reason


def _closed(schema: Any) -> bool:
    """Whether every object in ``schema`` lists all its properties as required and takes
    nothing else (what a strict schema must say); closes the objects that do not say."""
    if isinstance(schema, list):
        return all([_closed(item) for item in schema])
    if not isinstance(schema, dict):
        return True
    strict = True
    properties = schema.get("properties")
    if schema.get("type") == "object" or isinstance(properties, dict):
        if schema.setdefault("additionalProperties", False) is not False:
            strict = False
        if set(schema.get("required", ())) != set(properties or {}):
            strict = False
    return all([_closed(value) for value in schema.values()]) and strict


def json_schema_of(model: type[BaseModel]) -> tuple[dict[str, Any], bool]:
    """``model``'s JSON Schema for a ``response_format``, and whether it can be strict."""
    schema = model.model_json_schema()
    strict = _closed(schema)
    return schema, strict


def _with_format(request: ChatRequest, model: type[BaseModel]) -> ChatRequest:
    if request.response_format is not None and request.response_format.type != "text":
        raise InvalidRequest("response_format: extract sets it from the model; leave it unset")
    schema, strict = json_schema_of(model)
    name = _NAME.sub("_", model.__name__)[:64] or "response"
    response_format = ResponseFormat.model_validate(
        {"type": "json_schema", "name": name, "schema": schema, "strict": strict}
    )
    return request.model_copy(update={"response_format": response_format})


async def extract(
    request: ChatRequest,
    model: type[ModelT],
    *,
    settings: Settings | None = None,
    secrets: SecretStore | None = None,
    stream: Stream | None = None,
) -> ModelT:
    """One answer of ``request``'s model, as JSON matching ``model``, validated.

    ``stream`` replaces :func:`llmrelay.stream_chat` (e.g. :func:`llmrelay.stream_resilient`
    for retries and fallbacks); ``settings`` and ``secrets`` are passed to it."""
    if stream is None:
        from llmrelay.chat import stream_chat

        stream = stream_chat
    pieces: list[str] = []
    reason = "other"
    async for event in stream(_with_format(request, model), settings=settings, secrets=secrets):
        if isinstance(event, TextDelta):
            pieces.append(event.text)
        elif isinstance(event, Finish):
            reason = event.reason
    text = "".join(pieces)
    if reason == "length":
        raise ExtractionFailed(
            "the answer was cut off at max_tokens before its JSON ended", text=text, reason=reason
        )
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, err['loc'])) or 'answer'}: {err['msg']}"
            for err in exc.errors(include_url=False, include_input=False)[:3]
        )
        raise ExtractionFailed(
            f"the answer does not match {model.__name__}: {problems}", text=text, reason=reason
        ) from None
