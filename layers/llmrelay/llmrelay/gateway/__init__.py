"""The gateway: the function's HTTP app (routes, client dialects, errors, deadline).

``build_app()`` returns the :data:`~llmrelay.http.App` that ``functions/chat/app.py`` hands
to the runtime. Building it reads the gateway's settings from the environment and nothing
else: no SDK, no secret, no network until a request needs one.
"""

from __future__ import annotations

from typing import Literal

from llmrelay.config import Settings
from llmrelay.gateway.access import protect
from llmrelay.gateway.anthropic_route import ANTHROPIC_DIALECT, anthropic_error_response
from llmrelay.gateway.chat_route import NATIVE_DIALECT
from llmrelay.gateway.dialect import AskT, Dialect
from llmrelay.gateway.dialect_route import DialectRoute, StreamFn
from llmrelay.gateway.durability import Durability, durability_from_env
from llmrelay.gateway.health import Health
from llmrelay.gateway.models_route import ModelById, ModelList
from llmrelay.gateway.openai_route import OPENAI_DIALECT, openai_error_response
from llmrelay.gateway.options import GatewayOptions
from llmrelay.gateway.page import Page
from llmrelay.gateway.responses_route import RESPONSES_DIALECT
from llmrelay.gateway.router import Handler, Route, Router
from llmrelay.gateway.streams_route import ResumeStream, StopStream, VercelResume
from llmrelay.gateway.threads_route import ThreadRoute
from llmrelay.gateway.vercel_route import VERCEL_DIALECT, plain_error_response
from llmrelay.http import App
from llmrelay.models import ChatRequest
from llmrelay.resilience import AnswerStream, stream_resilient
from llmrelay.secrets import SecretStore

__all__ = [
    "Durability",
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
    durability: Durability | Literal[False] | None = None,
) -> App:
    """The app with every route. Each argument replaces a default: ``options`` (from the
    ``LLMRELAY_*`` environment), ``settings`` and ``secrets`` (the process-wide ones),
    ``stream`` (the provider layer, :func:`llmrelay.stream_resilient`), ``durability``
    (durable streams and threads, as ``LLMRELAY_DURABLE_TABLE`` says; ``False``: off).

    Every chat route is one :class:`~llmrelay.gateway.dialect_route.DialectRoute` with the
    same ``stream``, ``options`` and ``settings``; only its dialect differs."""
    options = options or GatewayOptions.from_env()
    stream = stream or _provider_stream(settings, secrets)
    durable = (durability_from_env() if durability is None else durability) or None

    def chat(path: str, dialect: Dialect[AskT]) -> Route:
        handler = DialectRoute(dialect, stream, options, settings=settings, durability=durable)
        return Route("POST", path, handler)

    threads = ThreadRoute(durable)

    models = ModelList(settings=settings, secrets=secrets)
    router = Router(
        [
            chat("/chat", NATIVE_DIALECT),
            Route("GET", "/chat/{stream_id}", ResumeStream(durable, options)),
            Route("POST", "/chat/{stream_id}/stop", StopStream(durable)),
            Route("GET", "/threads/{thread_id}", threads),
            Route("DELETE", "/threads/{thread_id}", threads),
            Route("GET", "/health", Health(options.version)),
            chat("/v1/chat/completions", OPENAI_DIALECT),
            chat("/v1/responses", RESPONSES_DIALECT),
            Route("GET", "/v1/models", models),
            Route("GET", "/v1/models/*", ModelById(models)),
            chat("/v1/messages", ANTHROPIC_DIALECT),
            chat("/api/chat", VERCEL_DIALECT),
            Route("GET", "/api/chat/{chat_id}/stream", VercelResume(durable, options)),
            Route("GET", "/", Page()),
        ],
        # Errors the router answers itself in the shape of the API their path belongs to.
        shapes={
            "/v1/": openai_error_response,
            "/v1/messages/": anthropic_error_response,
            "/api/chat/": plain_error_response,  # useChat shows the body as error.message
        },
    )
    # Client API keys and CORS, as LLMRELAY_AUTH and LLMRELAY_CORS_ORIGINS say.
    return protect(router, settings=settings, secrets=secrets, shape=router.error)
