"""Scrub secrets out of text before it can reach a client or a log line."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["redact", "register_secret"]

# Shapes of provider keys, caught even when llmrelay never saw the value itself
# (an upstream echoing back a key that came from somewhere else). A key starts a token:
# without the look-behind "disk-quota-exceeded" would read as a key ("sk-quota-exceeded").
_KEY_SHAPES = re.compile(
    r"(?<![A-Za-z0-9])"
    r"(?:sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{8,}"
    r"|hf_[A-Za-z0-9]{8,}"
    r"|gsk_[A-Za-z0-9]{8,}"
    r"|AIza[A-Za-z0-9_\-]{20,}"
    r"|(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])"  # AWS access key ids (ASIA: a role's)
    r"|(?i:bearer)\s+[A-Za-z0-9._\-]{8,})"
)
_MASK = "[redacted]"
_known: set[str] = set()


def register_secret(values: Iterable[str]) -> None:
    """Remember secret values (from the secret store) so :func:`redact` removes them verbatim."""
    _known.update(v for v in values if len(v) >= 4)


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with every known secret value and every key-shaped token masked."""
    for value in sorted({*_known, *extra}, key=len, reverse=True):
        if value and value in text:
            text = text.replace(value, _MASK)
    return _KEY_SHAPES.sub(_MASK, text)
