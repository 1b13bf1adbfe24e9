"""Metric dimension values that CloudWatch accepts and that cannot run up its bill.

Each distinct set of dimension values is a custom metric, billed per month, and the model
string comes from the client. So a model becomes a dimension value only once its upstream
has accepted it in an answer (``confirmed``), and each process keeps at most
:data:`MAX_MODELS` of them; past that, and for models never confirmed, the value is
``other`` / ``unconfirmed``. CloudWatch takes 1 to 1024 printable ASCII characters.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["MAX_MODELS", "NONE", "OTHER", "UNCONFIRMED", "ModelDimensions", "dimension_value"]

MAX_MODELS: Final = 20
NONE: Final = "none"
OTHER: Final = "other"
UNCONFIRMED: Final = "unconfirmed"
_MAX_CHARS: Final = 128
_NOT_PRINTABLE: Final = re.compile(r"[^\x21-\x7e]")


def dimension_value(value: str | None) -> str:
    """``value`` as a valid dimension value: printable ASCII without spaces, at most 128
    characters (``none`` when there is nothing left)."""
    cleaned = _NOT_PRINTABLE.sub("_", value or "")[:_MAX_CHARS].strip("_")
    return cleaned or NONE


class ModelDimensions:
    """The ``model`` dimension's values, bounded per process."""

    def __init__(self, limit: int = MAX_MODELS) -> None:
        self._limit = limit
        self._seen: set[str] = set()

    def value(self, model: str | None, *, confirmed: bool) -> str:
        if model is None:
            return NONE
        value = dimension_value(model)
        if value in self._seen:
            return value
        if not confirmed:
            return UNCONFIRMED
        if len(self._seen) >= self._limit:
            return OTHER
        self._seen.add(value)
        return value
