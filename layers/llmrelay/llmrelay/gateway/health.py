"""``GET /health``: ``{"status": "ok", "version": ...}``, for load balancers and smoke tests."""

from __future__ import annotations

from functools import cache

from llmrelay.gateway.responses import json_response
from llmrelay.http import HttpRequest, HttpResponse, InvocationContext

__all__ = ["Health", "package_version"]


@cache
def package_version() -> str:
    """The installed ``llmrelay`` distribution's version, or ``"unknown"`` (e.g. in a layer
    that ships the package's files without its metadata)."""
    # Imported here: metadata lookup costs a few milliseconds that only /health pays.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llmrelay")
    except PackageNotFoundError:
        return "unknown"


class Health:
    def __init__(self, version: str | None = None) -> None:
        self._version = version

    async def __call__(self, request: HttpRequest, context: InvocationContext) -> HttpResponse:
        return json_response(200, {"status": "ok", "version": self._version or package_version()})
