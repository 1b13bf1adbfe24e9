"""Pure framing of a streamed response for the Lambda Runtime API (no I/O).

A streamed function-URL response is one chunked ``POST`` whose body is a JSON prelude
(status, headers, cookies), eight NUL bytes, then the response bytes. Chunks are framed
by hand because the stdlib HTTP client cannot send trailers, and trailers are how an error
after the first byte reaches Lambda.
"""

from __future__ import annotations

import base64
import json
import string
from collections.abc import Iterable, Mapping

__all__ = [
    "EMPTY_BODY",
    "ERROR_BODY_TRAILER",
    "ERROR_TYPE_HEADER",
    "LAST_CHUNK",
    "PRELUDE_CONTENT_TYPE",
    "SEPARATOR",
    "STREAMING_HEADERS",
    "chunk",
    "error_end",
    "error_type",
    "prelude",
    "request_head",
]

PRELUDE_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
SEPARATOR = b"\0" * 8
LAST_CHUNK = b"0\r\n\r\n"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
ERROR_BODY_TRAILER = "Lambda-Runtime-Function-Error-Body"

# A streamed body must carry at least one byte after the prelude (an empty one is reported
# to hang the function URL). A newline is whitespace in JSON, text and HTML, and an empty
# line at the start of an SSE stream dispatches nothing, so it is harmless for every type
# llmrelay sends; it is sent only when the app's body is empty.
EMPTY_BODY = b"\n"

STREAMING_HEADERS: tuple[tuple[str, str], ...] = (
    ("Lambda-Runtime-Function-Response-Mode", "streaming"),
    ("Transfer-Encoding", "chunked"),
    ("Trailer", f"{ERROR_TYPE_HEADER}, {ERROR_BODY_TRAILER}"),
    ("Content-Type", PRELUDE_CONTENT_TYPE),
)

_TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~")


def prelude(status: int, headers: Mapping[str, str], cookies: Iterable[str]) -> bytes:
    """The compact JSON prelude followed by the 8-NUL separator."""
    document = {"statusCode": status, "headers": dict(headers), "cookies": list(cookies)}
    return json.dumps(document, separators=(",", ":")).encode() + SEPARATOR


def chunk(data: bytes) -> bytes:
    """One chunked-encoding frame; empty data yields nothing (an empty frame ends the body)."""
    return b"%x\r\n%s\r\n" % (len(data), data) if data else b""


def error_type(name: str, category: str = "Function") -> str:
    """``Category.Reason`` (the form AWS recommends), reduced to characters legal in a header."""
    reason = "".join(c for c in name if c in _TOKEN_CHARS) or "Unknown"
    return f"{category}.{reason}"


def error_end(kind: str, error_json: bytes) -> bytes:
    """The last chunk with both error trailers: the type and the base64 of the error JSON."""
    encoded = base64.b64encode(error_json).decode("ascii")
    trailers = f"{ERROR_TYPE_HEADER}: {kind}\r\n{ERROR_BODY_TRAILER}: {encoded}\r\n"
    return b"0\r\n" + trailers.encode("ascii") + b"\r\n"


def request_head(method: str, target: str, headers: Iterable[tuple[str, str]]) -> bytes:
    """An HTTP/1.1 request line and header block, blank line included."""
    lines = [f"{method} {target} HTTP/1.1", *(f"{name}: {value}" for name, value in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
