"""What the server refuses, and the bounds it holds every connection to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

__all__ = ["BadRequest", "BodyTooLarge", "HttpError", "Limits", "RequestTimeout"]


class HttpError(Exception):
    """A request the server refuses before (or instead of) its handler's answer: an HTTP
    ``status``, a stable ``code`` and a message for the client."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status  # type: ignore[misc]  # per instance, e.g. a head's 431

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


class BadRequest(HttpError):
    """Broken HTTP framing (the request line, a header, a length, a chunk)."""


class BodyTooLarge(HttpError):
    """The body is over a limit (:meth:`Request.read_body`'s, or too many chunks)."""

    status = 413
    code = "payload_too_large"


class RequestTimeout(HttpError):
    """The client took too long to send its head or its body."""

    status = 408
    code = "request_timeout"


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-connection bounds; ``None`` turns a timeout off.

    ``head_bytes``: the request line and headers, and any chunk-size line or trailer block
    (bytes that complete none of them count too; over it: 431, or 400 inside a body).
    ``idle_timeout_s``: a connection with no byte of a next request for this long is closed.
    ``head_timeout_s``: the whole head, from its first byte (408 past it).
    ``body_timeout_s``: the whole body, from the end of the head (408 past it).
    ``body_idle_timeout_s``: the longest wait for the next piece of the body (408 past it).
    ``send_timeout_s``: a client that reads nothing of the answer for this long is cut.
    ``max_chunks``: chunks in one chunked body (each costs parsing time, however small;
    ``None``: no bound).
    ``skip_bytes``: an unread body up to this is skipped to keep the connection alive.
    ``linger_s`` / ``linger_bytes``: before closing on a client that is still sending, its
    bytes are read and dropped this long, so that it gets to read the answer.
    """

    head_bytes: int = 16 * 1024
    idle_timeout_s: float | None = 60.0
    head_timeout_s: float | None = 10.0
    body_timeout_s: float | None = None
    body_idle_timeout_s: float | None = None
    send_timeout_s: float | None = 60.0
    max_chunks: int | None = 65_536
    skip_bytes: int = 1024 * 1024
    linger_s: float = 2.0
    linger_bytes: int = 32 * 1024 * 1024
