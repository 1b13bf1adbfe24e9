"""The gateway: the function's HTTP app (routes, client dialects, errors, deadline).

``build_app()`` returns the :data:`~llmrelay.http.App` that ``functions/chat/app.py`` hands
to the runtime. Building it reads the gateway's settings from the environment and nothing
else: no SDK, no secret, no network until a request needs one.
"""

from __future__ import annotations

from llmrelay.config import Settings
from llmrelay.gateway.access import protect
from llmrelay.gateway.chat_route import ChatRoute, StreamFn
from llmrelay.gateway.health import Health
from llmrelay.gateway.models_route import ModelList
from llmrelay.gateway.openai_route import OpenAIChatRoute
from llmrelay.gateway.options import GatewayOptions
from llmrelay.gateway.page import Page
from llmrelay.gateway.router import Handler, Route, Router
from llmrelay.gateway.vercel_route import VercelChatRoute
from llmrelay.http import App
from llmrelay.models import ChatRequest
from llmrelay.resilience import AnswerStream, stream_resilient
from llmrelay.secrets import SecretStore

__all__ = [
    "GatewayOptions",
    "Handler",
    "Route",
    "Router",
    "StreamFn",
    "build_app",
]


def _provider_stream(settings: Settings | None, secrets: SecretStore | None) -> StreamFn:
    def stream(request: ChatRequest) -> AnswerStream:
        # Retries, fallbacks and stream timeouts, budgeted against the guard's deadline.
        return stream_resilient(request, settings=settings, secrets=secrets)

    return stream


def build_app(
    *,
    options: GatewayOptions | None = None,
    settings: Settings | None = None,
    secrets: SecretStore | None = None,
    stream: StreamFn | None = None,
) -> App:
    """The app with every route. Each argument replaces a default: ``options`` (from the
    ``LLMRELAY_*`` environment), ``settings`` and ``secrets`` (the process-wide ones),
    ``stream`` (the provider layer, :func:`llmrelay.stream_resilient`).

    Every dialect's route gets the same ``stream``, ``options`` and ``settings``, and shares
    :mod:`llmrelay.gateway.answer` (guard, deadline, the wait for the first item)."""
    options = options or GatewayOptions.from_env()
    stream = stream or _provider_stream(settings, secrets)
    router = Router(
        [
            Route("POST", "/chat", ChatRoute(stream, options, settings=settings)),
            Route("GET", "/health", Health(options.version)),
            Route(
                "POST", "/v1/chat/completions", OpenAIChatRoute(stream, options, settings=settings)
            ),
            Route("GET", "/v1/models", ModelList(settings=settings, secrets=secrets)),
            Route("POST", "/api/chat", VercelChatRoute(stream, options, settings=settings)),
            Route("GET", "/", Page()),
        ]
    )
    # Client API keys and CORS, as LLMRELAY_AUTH and LLMRELAY_CORS_ORIGINS say.
    return protect(router, settings=settings, secrets=secrets)
