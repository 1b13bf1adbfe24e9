"""The front's access log lines: they can neither leak nor lie.

A query string can carry a key (``?api_key=...``), so no value of it is written, and only
the names that are plain words and not key-shaped. Nothing the client sent reaches the
terminal raw: control characters and non-ASCII are escaped, so a path cannot forge a log
line or drive the terminal. The status is the one that went out (``---`` when none did,
``cut`` when the response was cut after its head).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from llmrelay.redact import redact

__all__ = ["NEVER_ANSWERED", "log_target", "printable", "status_text"]

NEVER_ANSWERED = "---"
_NAME = re.compile(r"[A-Za-z0-9_.\-\[\]]{1,40}")
_UNSAFE = re.compile(r"[^\x20-\x7e]")
_MAX = 300


def printable(text: str) -> str:
    """``text`` with every control or non-ASCII character as a ``\\x..``-style escape."""
    escaped = _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
    return escaped if len(escaped) <= _MAX else escaped[:_MAX] + "..."


def _name(name: str) -> str:
    return name if _NAME.fullmatch(name) and redact(name) == name else "*"


def log_target(target: str) -> str:
    """The path, and the query's parameter names with every value redacted."""
    parts = urlsplit(target)
    path = parts.path or "/"
    if not parts.query:
        return printable(path)
    names = [_name(name) for name, _ in parse_qsl(parts.query, keep_blank_values=True)]
    return printable(path + "?" + "&".join(f"{name}=*" for name in names or ["*"]))


def status_text(status: int | None, *, cut: bool = False) -> str:
    if status is None:
        return NEVER_ANSWERED
    return f"{status} cut" if cut else str(status)
