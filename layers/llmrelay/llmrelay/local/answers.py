"""What the emulator itself answers (413, 429, 502, 503, 504, and the framing refusals of
its HTTP server): the function's JSON error shape, ``{"error": {"code", "message",
"retryable"}}``, with the CORS headers the function's own answers carry when CORS is on
(``LLMRELAY_CORS_ORIGINS`` in the function's environment), so that a browser can read them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from llmrelay.gateway.cors import CorsPolicy
from llmrelay.httpd import Headers, HttpError, Request

__all__ = ["Answers", "error_body"]

# Codes for the statuses of the HTTP server's refusals whose code says too little.
_CODES = {431: "header_too_large", 501: "not_implemented"}
_RETRYABLE = frozenset({408, 429, 503, 504})


def error_body(code: str, message: str, *, retryable: bool = False) -> bytes:
    document = {"error": {"code": code, "message": message, "retryable": retryable}}
    return json.dumps(document, separators=(",", ":")).encode()


class Answers:
    """The emulator's own error answers, for one function's CORS policy."""

    def __init__(self, environment: Mapping[str, str]) -> None:
        self._cors = CorsPolicy.from_env(environment)

    def cors_headers(self, origin: str) -> Headers:
        if self._cors is None:
            return []
        return list(self._cors.response_headers(origin).items())

    def error(
        self, request: Request | None, status: int, code: str, message: str, *extra: tuple[str, str]
    ) -> tuple[bytes, Headers]:
        """The body and headers of one error answer."""
        origin = request.headers.get("origin", "") if request is not None else ""
        headers = [
            ("Content-Type", "application/json"),
            ("Cache-Control", "no-store"),
            *self.cors_headers(origin),
            *extra,
        ]
        return error_body(code, message, retryable=status in _RETRYABLE), headers

    def refusal(self, request: Request | None, error: HttpError) -> tuple[bytes, Headers]:
        """The :data:`llmrelay.httpd.ErrorPage` of the front."""
        code = _CODES.get(error.status, error.code)
        return self.error(request, error.status, code, error.message)
