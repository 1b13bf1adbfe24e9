"""Pure Server-Sent Events framing (the WHATWG ``text/event-stream`` format), no I/O.

Each function returns one whole frame as bytes, ending with the blank line that dispatches
it, so a writer that sends frame by frame can never let a ping land inside an event.

- ``data`` is split on CR LF, CR and LF (the only line breaks the spec knows) into several
  ``data:`` lines, which a client joins back with LF.
- ``event`` and ``id`` lose any CR and LF (and ``id`` any NUL, which makes clients ignore
  it), since a line break there would start a new field.
- Every field is written ``name: value``; clients remove exactly one space after the
  colon, so values that start with a space survive.
- Text is UTF-8; a lone surrogate (possible in JSON-decoded input) becomes ``?`` rather
  than an encoding error halfway through a stream.
"""

from __future__ import annotations

import re

__all__ = ["PING", "comment", "encode_event"]

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_CR_LF = re.compile(r"[\r\n]")
_CR_LF_NUL = re.compile(r"[\r\n\0]")


def _field(name: str, value: str) -> str:
    return f"{name}: {value}\n" if value else f"{name}:\n"


def _to_bytes(frame: str) -> bytes:
    return frame.encode("utf-8", "replace")


def encode_event(
    data: str | None = None,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
) -> bytes:
    """One event frame. ``data=None`` writes no ``data:`` line (e.g. a ``retry``-only frame);
    ``data=""`` writes one empty ``data:`` line, which clients dispatch as an empty message."""
    lines: list[str] = []
    if event:
        lines.append(_field("event", _CR_LF.sub("", event)))
    if id is not None:
        lines.append(_field("id", _CR_LF_NUL.sub("", id)))
    if retry is not None:
        if retry < 0:
            raise ValueError(f"retry must be a non-negative number of milliseconds, got {retry}")
        lines.append(_field("retry", str(retry)))
    if data is not None:
        lines.extend(_field("data", line) for line in _LINE_BREAK.split(data))
    return _to_bytes("".join(lines) + "\n")


def comment(text: str = "") -> bytes:
    """A comment frame (``: text``), one ``:`` line per line of ``text``; clients ignore it,
    proxies see traffic."""
    lines = (f": {line}\n" if line else ":\n" for line in _LINE_BREAK.split(text))
    return _to_bytes("".join(lines) + "\n")


PING = b": ping\n\n"
