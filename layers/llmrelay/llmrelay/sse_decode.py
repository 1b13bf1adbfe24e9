"""Pure Server-Sent Events decoding of the ``data`` of each event, from bytes as they are
read (WHATWG ``text/event-stream``), no I/O.

An upstream's stream is read in pieces that split lines and events anywhere; :meth:`feed`
returns the data of every event completed so far. Lines end with CR LF, LF or CR; a blank
line dispatches the event; ``data`` lines are joined with LF; one space after the colon is
dropped; comments (``:``) and other fields are ignored, and so is an event without data.
Data stays bytes: the caller decodes its JSON straight from them.
"""

from __future__ import annotations

__all__ = ["SseDataDecoder"]


class SseDataDecoder:
    def __init__(self) -> None:
        self._rest = b""  # an incomplete last line
        self._data: list[bytes] = []  # the data lines of the event in progress
        self._cr = False  # the last piece ended with CR: a LF opening the next is its end

    def feed(self, piece: bytes) -> list[bytes]:
        """The data of each event that ``piece`` completes, in order."""
        if self._cr and piece.startswith(b"\n"):
            piece = piece[1:]
        self._cr = piece.endswith(b"\r")
        text = self._rest + piece
        if b"\r" in text:
            text = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *lines, self._rest = text.split(b"\n")
        events: list[bytes] = []
        for line in lines:
            if not line:
                if self._data:
                    events.append(b"\n".join(self._data))
                    self._data = []
            elif line.startswith(b"data:"):
                value = line[5:]
                self._data.append(value[1:] if value.startswith(b" ") else value)
        return events
