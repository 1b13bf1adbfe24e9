"""The parts a message's content may be made of (``"type"`` tells which).

- ``text`` ``{text}``: any role;
- ``image`` ``{url}`` or ``{data, media_type}`` (base64; a ``data:`` URL is split into the
  two): user and tool messages;
- ``file`` ``{data, media_type, filename?}`` (base64; PDF or plain text): user messages;
- ``reasoning`` ``{text, signature?, redacted?}``: assistant messages, as the answer's
  reasoning block said it, to be passed back unchanged;
- ``tool_call`` ``{id, name, arguments}`` (``arguments``: JSON text of an object):
  assistant messages.

Limits (decoded image and file bytes) come from :class:`llmrelay.config.Settings`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from llmrelay.config import get_settings

__all__ = [
    "FILE_MEDIA_TYPES",
    "IMAGE_MEDIA_TYPES",
    "FilePart",
    "ImagePart",
    "Part",
    "ReasoningPart",
    "TextPart",
    "ToolCallPart",
]

IMAGE_MEDIA_TYPES: Final = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
FILE_MEDIA_TYPES: Final = frozenset({"application/pdf", "text/plain"})
_DATA_URL: Final = re.compile(r"data:(?P<type>[\w.+-]+/[\w.+-]+);base64,(?P<data>.*)", re.S)
_TOOL_ID: Final = 256
_STRICT = ConfigDict(extra="forbid", frozen=True, strict=True)


def _decoded_size(data: str, limit: int, what: str) -> str:
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("must be base64") from None
    if not raw:
        raise ValueError("must not be empty")
    if len(raw) > limit:
        raise ValueError(f"{what} must be at most {limit} bytes (got {len(raw)})")
    return data


def _split_data_url(value: object, field: str) -> object:
    """A part whose ``field`` is a base64 ``data:`` URL, as ``data`` and ``media_type``."""
    if isinstance(value, dict) and isinstance(value.get(field), str):
        match = _DATA_URL.fullmatch(value[field])
        if match is not None:
            rest = {k: v for k, v in value.items() if k != field}
            return {**rest, "data": match["data"], "media_type": match["type"]}
    return value


class TextPart(BaseModel):
    model_config = _STRICT

    type: Literal["text"]
    text: str


class ImagePart(BaseModel):
    """An image by ``url`` (``http(s)``), or inline as base64 ``data`` with its
    ``media_type``."""

    model_config = _STRICT

    type: Literal["image"]
    url: str | None = Field(default=None, min_length=1, max_length=8192)
    data: str | None = None
    media_type: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _split_data_url(cls, value: object) -> object:
        return _split_data_url(value, "url")

    @model_validator(mode="after")
    def _one_source(self) -> ImagePart:
        if (self.url is None) == (self.data is None):
            raise ValueError("needs exactly one of url or data")
        if self.url is not None and not self.url.startswith(("https://", "http://")):
            raise ValueError("url must be http(s) or a base64 data: URL")
        if self.data is not None:
            if self.media_type not in IMAGE_MEDIA_TYPES:
                raise ValueError(
                    f"media_type must be one of {', '.join(sorted(IMAGE_MEDIA_TYPES))}"
                )
            _decoded_size(self.data, get_settings().max_image_bytes, "an image")
        return self


class FilePart(BaseModel):
    """A document, inline as base64 ``data``."""

    model_config = _STRICT

    type: Literal["file"]
    data: str
    media_type: str
    filename: str | None = Field(default=None, min_length=1, max_length=256)

    @model_validator(mode="before")
    @classmethod
    def _split_data_url(cls, value: object) -> object:
        return _split_data_url(value, "data")

    @field_validator("media_type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in FILE_MEDIA_TYPES:
            raise ValueError(f"must be one of {', '.join(sorted(FILE_MEDIA_TYPES))}")
        return value

    @field_validator("data")
    @classmethod
    def _bounded(cls, value: str) -> str:
        return _decoded_size(value, get_settings().max_file_bytes, "a file")


class ReasoningPart(BaseModel):
    """A reasoning block of an earlier answer, with its opaque data unchanged."""

    model_config = _STRICT

    type: Literal["reasoning"]
    text: str = ""
    signature: str | None = Field(default=None, min_length=1)
    redacted: str | None = Field(default=None, min_length=1)


class ToolCallPart(BaseModel):
    """A tool call of an earlier answer; ``arguments`` is the JSON text of an object."""

    model_config = _STRICT

    type: Literal["tool_call"]
    id: str = Field(min_length=1, max_length=_TOOL_ID)
    name: str = Field(min_length=1, max_length=128)
    arguments: str = "{}"

    @field_validator("arguments")
    @classmethod
    def _json_object(cls, value: str) -> str:
        try:
            decoded = json.loads(value) if value.strip() else {}
        except ValueError:
            raise ValueError("must be the JSON text of an object") from None
        if not isinstance(decoded, dict):
            raise ValueError("must be the JSON text of an object")
        return value


Part = Annotated[
    TextPart | ImagePart | FilePart | ReasoningPart | ToolCallPart, Field(discriminator="type")
]
