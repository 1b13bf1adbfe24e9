"""Method + path to handler: the gateway is one :class:`Router`, an :data:`~llmrelay.http.App`.

An unknown path answers 404 ``not_found``; a known path with another method answers 405
``method_not_allowed`` with an ``Allow`` header. A trailing slash is ignored (``/chat/``
is ``/chat``); a route whose path ends in ``/*`` takes every path under it (the handler
reads the rest, e.g. a model id with slashes in ``/v1/models/openai/gpt-4o``); a segment
written ``{name}`` matches any one non-empty segment, which the handler reads from
``request.path_params["name"]`` (fixed paths win over both kinds of pattern). ``HEAD`` is
served wherever ``GET`` is, without the body (so ``HEAD /``, which the auth layer lets
through with ``GET /``, answers as the page does). Whatever a
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
from dataclasses import dataclass, replace
from urllib.parse import unquote

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


def _is_parameter(segment: str) -> bool:
    return len(segment) > 2 and segment.startswith("{") and segment.endswith("}")


def _match(pattern: tuple[str, ...], path: str) -> dict[str, str] | None:
    """The parameters of ``path`` (percent-decoded) when it fits ``pattern``, else ``None``."""
    segments = _normal_path(path).split("/")
    if len(segments) != len(pattern):
        return None
    params: dict[str, str] = {}
    for want, got in zip(pattern, segments, strict=True):
        if _is_parameter(want):
            if not got:
                return None
            params[want[1:-1]] = unquote(got)
        elif want != got:
            return None
    return params


class Router:
    def __init__(
        self, routes: Iterable[Route], *, shapes: Mapping[str, ErrorShape] | None = None
    ) -> None:
        self._table: dict[str, dict[str, Handler]] = {}
        self._prefixes: list[str] = []
        self._patterns: list[tuple[tuple[str, ...], dict[str, Handler]]] = []
        for route in routes:
            path = _normal_path(route.path)
            if any(_is_parameter(segment) for segment in path.split("/")):
                methods = self._pattern_methods(tuple(path.split("/")))
            else:
                methods = self._table.setdefault(path, {})
            method = route.method.upper()
            if method in methods:
                raise ValueError(f"two routes for {method} {route.path}")
            methods[method] = route.handler
            if path.endswith("/*") and path not in self._prefixes:
                self._prefixes.append(path)
        self._prefixes.sort(key=len, reverse=True)
        self._shapes = sorted((shapes or {}).items(), key=lambda item: len(item[0]), reverse=True)

    def _pattern_methods(self, pattern: tuple[str, ...]) -> dict[str, Handler]:
        for known, methods in self._patterns:
            if known == pattern:
                return methods
        self._patterns.append((pattern, {}))
        return self._patterns[-1][1]

    def _resolved(self, path: str) -> tuple[dict[str, Handler], Mapping[str, str]] | None:
        path = _normal_path(path)
        methods = self._table.get(path)
        if methods is not None:
            return methods, {}
        for pattern, handlers in self._patterns:
            params = _match(pattern, path)
            if params is not None:
                return handlers, params
        for prefix in self._prefixes:
            if path.startswith(prefix[:-1]) and len(path) > len(prefix) - 1:
                return self._table[prefix], {}
        return None

    def _methods(self, path: str) -> dict[str, Handler] | None:
        found = self._resolved(path)
        return None if found is None else found[0]

    def resolve(self, method: str, path: str) -> tuple[Handler, Mapping[str, str]]:
        """The handler for ``method path`` and the path's ``{name}`` parameters; raises
        :class:`NotFound` or :class:`MethodNotAllowed`."""
        found = self._resolved(path)
        if found is None:
            raise NotFound(f"no route for {path[:200]!r}")
        methods, params = found
        method = method.upper()
        handler = methods.get(method) or (methods.get("GET") if method == "HEAD" else None)
        if handler is None:
            allowed = ", ".join(sorted(methods))
            raise MethodNotAllowed(f"{method[:20]} is not allowed here; use {allowed}")
        return handler, params

    def find(self, method: str, path: str) -> Handler:
        """The handler for ``method path`` (see :meth:`resolve`)."""
        return self.resolve(method, path)[0]

    def allowed(self, path: str) -> str:
        methods = set(self._methods(path) or {})
        return ", ".join(sorted(methods | ({"HEAD"} if "GET" in methods else set())))

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
            handler, params = self.resolve(request.method, request.path)
        except MethodNotAllowed as error:
            return self.error(request.path, error, {"allow": self.allowed(request.path)})
        except NotFound as error:
            return self.error(request.path, error)
        if params:
            request = replace(request, path_params=params)
        try:
            response = await handler(request, context)
        except LLMRelayError as error:
            return self.error(request.path, error)
        except Exception as exc:
            request_id = context.aws_request_id or request.request_id
            log_exception("unhandled error in a route", exc, request_id=request_id)
            internal = LLMRelayError(f"internal error (request {request_id})")
            return self.error(request.path, internal)
        if request.method.upper() == "HEAD" and isinstance(response.body, bytes):
            return replace(response, body=b"")
        return response
