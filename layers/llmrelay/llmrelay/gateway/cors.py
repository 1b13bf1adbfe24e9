"""CORS in the code, for where no function URL does it: ``make dev`` and tests.

In AWS the function URL's own ``Cors`` configuration (the template's ``CorsAllowOrigins``)
answers preflights and adds the headers, so this layer is off unless
``LLMRELAY_CORS_ORIGINS`` is set (the emulator sets it); both at once would send the
headers twice, which browsers reject. The value is ``*`` or comma-separated origins
(``https://app.example.com,http://localhost:5173``).

A preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) gets 204
with the allowed origin, methods, headers and ``Max-Age`` (the template's), or 403
``origin_not_allowed``; it never reaches the app, so it needs no API key. Every other
response, streamed or not, gets ``Access-Control-Allow-Origin`` and
``Access-Control-Expose-Headers`` when the origin is allowed, and ``Vary: Origin`` whenever
the answer depends on the origin (a list rather than ``*``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace

from llmrelay.gateway.errors import OriginNotAllowed
from llmrelay.gateway.responses import error_response
from llmrelay.http import App, HttpRequest, HttpResponse, InvocationContext

__all__ = ["Cors", "CorsPolicy"]

# The same lists as the template's FunctionUrlConfig.Cors, so `make dev` behaves as AWS does.
_METHODS = "GET, POST, DELETE"
_HEADERS = "accept, authorization, content-type, last-event-id, x-api-key"
_EXPOSE = "retry-after, x-amzn-requestid, x-request-id, x-llmrelay-error-code, x-llmrelay-stream-id"
_MAX_AGE_S = 600


def _origin(value: str) -> str:
    return value.strip().rstrip("/").lower()


@dataclass(frozen=True, slots=True)
class CorsPolicy:
    """The allowed origins: ``("*",)`` for any, else exact ``scheme://host[:port]``s."""

    origins: tuple[str, ...] = ("*",)
    max_age_s: int = _MAX_AGE_S

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> CorsPolicy | None:
        """The policy of ``LLMRELAY_CORS_ORIGINS``, or ``None`` (off) when it is unset."""
        env = os.environ if env is None else env
        origins = [_origin(part) for part in env.get("LLMRELAY_CORS_ORIGINS", "").split(",")]
        origins = [origin for origin in origins if origin]
        if not origins:
            return None
        return cls(("*",) if "*" in origins else tuple(origins))

    @property
    def any_origin(self) -> bool:
        return self.origins == ("*",)

    def response_headers(self, origin: str) -> dict[str, str]:
        """The CORS headers of an answer (not a preflight's) to a request from ``origin``."""
        headers: dict[str, str] = {}
        allowed = self.allow_origin(origin)
        if allowed is not None:
            headers["access-control-allow-origin"] = allowed
            headers["access-control-expose-headers"] = _EXPOSE
        if not self.any_origin:
            headers["vary"] = "origin"
        return headers

    def allow_origin(self, origin: str) -> str | None:
        """The ``Access-Control-Allow-Origin`` value for ``origin``, or ``None``."""
        if self.any_origin:
            return "*"
        return origin if origin and _origin(origin) in self.origins else None


def _vary(headers: Mapping[str, str]) -> str:
    current = headers.get("vary", "")
    names = {part.strip().lower() for part in current.split(",")}
    if "origin" in names or "*" in names:
        return current
    return f"{current}, origin" if current.strip() else "origin"


def _is_preflight(request: HttpRequest) -> bool:
    return bool(
        request.method.upper() == "OPTIONS"
        and request.header("origin")
        and request.header("access-control-request-method")
    )


class Cors:
    """Wraps an app with :class:`CorsPolicy` (see the module's docstring)."""

    def __init__(self, app: App, policy: CorsPolicy) -> None:
        self._app = app
        self._policy = policy

    async def __call__(self, request: HttpRequest, context: InvocationContext) -> HttpResponse:
        origin = request.header("origin")
        allowed = self._policy.allow_origin(origin)
        if _is_preflight(request):
            return self._preflight(allowed)
        response = await self._app(request, context)
        headers = {k.lower(): v for k, v in response.headers.items()}
        cors = self._policy.response_headers(origin)
        if "vary" in cors:
            cors["vary"] = _vary(headers)
        return replace(response, headers={**headers, **cors})

    def _preflight(self, allowed: str | None) -> HttpResponse:
        vary = {} if self._policy.any_origin else {"vary": "origin"}
        if allowed is None:
            error = OriginNotAllowed("this origin may not call the gateway from a browser")
            return error_response(error, vary)
        headers = {
            "access-control-allow-origin": allowed,
            "access-control-allow-methods": _METHODS,
            "access-control-allow-headers": _HEADERS,
            "access-control-max-age": str(self._policy.max_age_s),
            **vary,
        }
        return HttpResponse(204, headers, b"")
