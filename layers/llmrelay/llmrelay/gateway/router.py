"""Method + path to handler: the gateway is one :class:`Router`, an :data:`~llmrelay.http.App`.

An unknown path answers 404 ``not_found``; a known path with another method answers 405
``method_not_allowed`` with an ``Allow`` header. A trailing slash is ignored (``/chat/``
is ``/chat``); a route whose path ends in ``/*`` takes every path under it (the handler
reads the rest, e.g. a model id with slashes in ``/v1/models/openai/gpt-4o``). Whatever a
handler raises becomes a JSON error, never a traceback: an
:class:`~llmrelay.errors.LLMRelayError` with its own status, anything else as a generic
500 ``internal_error`` (logged, redacted).

Errors the router answers itself take the shape of the API their path belongs to:
``shapes`` maps a path prefix to its error response (``/v1/`` is OpenAI's, so an OpenAI
SDK reads a 404 as its own ``NotFoundError``); the longest matching prefix wins, else the
gateway's own shape.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

from llmrelay.errors import LLMRelayError
from llmrelay.gateway.errors import MethodNotAllowed, NotFound
from llmrelay.gateway.logs import log_exception
from llmrelay.gateway.responses import error_response
from llmrelay.http import HttpRequest, HttpResponse, InvocationContext

__all__ = ["ErrorShape", "Handler", "Route", "Router"]

Handler = Callable[[HttpRequest, InvocationContext], Awaitable[HttpResponse]]
ErrorShape = Callable[[LLMRelayError, Mapping[str, str]], HttpResponse]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    handler: Handler


def _normal_path(path: str) -> str:
    return path.rstrip("/") or "/"


class Router:
    def __init__(
        self, routes: Iterable[Route], *, shapes: Mapping[str, ErrorShape] | None = None
    ) -> None:
        self._table: dict[str, dict[str, Handler]] = {}
        self._prefixes: list[str] = []
        for route in routes:
            path = _normal_path(route.path)
            methods = self._table.setdefault(path, {})
            method = route.method.upper()
            if method in methods:
                raise ValueError(f"two routes for {method} {route.path}")
            methods[method] = route.handler
            if path.endswith("/*") and path not in self._prefixes:
                self._prefixes.append(path)
        self._prefixes.sort(key=len, reverse=True)
        self._shapes = sorted((shapes or {}).items(), key=lambda item: len(item[0]), reverse=True)

    def _methods(self, path: str) -> dict[str, Handler] | None:
        path = _normal_path(path)
        methods = self._table.get(path)
        if methods is not None:
            return methods
        for prefix in self._prefixes:
            if path.startswith(prefix[:-1]) and len(path) > len(prefix) - 1:
                return self._table[prefix]
        return None

    def find(self, method: str, path: str) -> Handler:
        """The handler for ``method path``; raises :class:`NotFound` or
        :class:`MethodNotAllowed`."""
        methods = self._methods(path)
        if methods is None:
            raise NotFound(f"no route for {path[:200]!r}")
        handler = methods.get(method.upper())
        if handler is None:
            allowed = ", ".join(sorted(methods))
            raise MethodNotAllowed(f"{method[:20]} is not allowed here; use {allowed}")
        return handler

    def allowed(self, path: str) -> str:
        return ", ".join(sorted(self._methods(path) or {}))

    def error(
        self, path: str, error: LLMRelayError, headers: Mapping[str, str] | None = None
    ) -> HttpResponse:
        """``error`` in the shape of the API ``path`` belongs to."""
        path = _normal_path(path)
        for prefix, shape in self._shapes:
            if path.startswith(prefix) or path == prefix.rstrip("/"):
                return shape(error, headers or {})
        return error_response(error, headers)

    async def __call__(self, request: HttpRequest, context: InvocationContext) -> HttpResponse:
        try:
            handler = self.find(request.method, request.path)
        except MethodNotAllowed as error:
            return self.error(request.path, error, {"allow": self.allowed(request.path)})
        except NotFound as error:
            return self.error(request.path, error)
        try:
            return await handler(request, context)
        except LLMRelayError as error:
            return self.error(request.path, error)
        except Exception as exc:
            request_id = context.aws_request_id or request.request_id
            log_exception("unhandled error in a route", exc, request_id=request_id)
            internal = LLMRelayError(f"internal error (request {request_id})")
            return self.error(request.path, internal)
