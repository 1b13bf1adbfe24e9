"""Method + path to handler: the gateway is one :class:`Router`, an :data:`~llmrelay.http.App`.

An unknown path answers 404 ``not_found``; a known path with another method answers 405
``method_not_allowed`` with an ``Allow`` header. A trailing slash is ignored (``/chat/``
is ``/chat``). Whatever a handler raises becomes a JSON error, never a traceback: an
:class:`~llmrelay.errors.LLMRelayError` with its own status, anything else as a generic
500 ``internal_error`` (logged, redacted).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from llmrelay.errors import LLMRelayError
from llmrelay.gateway.errors import MethodNotAllowed, NotFound
from llmrelay.gateway.logs import log_exception
from llmrelay.gateway.responses import error_response
from llmrelay.http import HttpRequest, HttpResponse, InvocationContext

__all__ = ["Handler", "Route", "Router"]

Handler = Callable[[HttpRequest, InvocationContext], Awaitable[HttpResponse]]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    handler: Handler


def _normal_path(path: str) -> str:
    return path.rstrip("/") or "/"


class Router:
    def __init__(self, routes: Iterable[Route]) -> None:
        self._table: dict[str, dict[str, Handler]] = {}
        for route in routes:
            methods = self._table.setdefault(_normal_path(route.path), {})
            method = route.method.upper()
            if method in methods:
                raise ValueError(f"two routes for {method} {route.path}")
            methods[method] = route.handler

    def find(self, method: str, path: str) -> Handler:
        """The handler for ``method path``; raises :class:`NotFound` or
        :class:`MethodNotAllowed`."""
        methods = self._table.get(_normal_path(path))
        if methods is None:
            raise NotFound(f"no route for {path[:200]!r}")
        handler = methods.get(method.upper())
        if handler is None:
            allowed = ", ".join(sorted(methods))
            raise MethodNotAllowed(f"{method[:20]} is not allowed here; use {allowed}")
        return handler

    def allowed(self, path: str) -> str:
        return ", ".join(sorted(self._table.get(_normal_path(path), {})))

    async def __call__(self, request: HttpRequest, context: InvocationContext) -> HttpResponse:
        try:
            handler = self.find(request.method, request.path)
        except MethodNotAllowed as error:
            return error_response(error, {"allow": self.allowed(request.path)})
        except NotFound as error:
            return error_response(error)
        try:
            return await handler(request, context)
        except LLMRelayError as error:
            return error_response(error)
        except Exception as exc:
            request_id = context.aws_request_id or request.request_id
            log_exception("unhandled error in a route", exc, request_id=request_id)
            return error_response(LLMRelayError(f"internal error (request {request_id})"))
