"""``stream_chat``: the library's one entry point."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from llmrelay.config import Settings, get_settings
from llmrelay.errors import AuthenticationFailed, InvalidRequest, MissingKey, UnsupportedParameter
from llmrelay.events import StreamEvent
from llmrelay.keys import provider_key
from llmrelay.models import ChatRequest
from llmrelay.parts import FilePart, ImagePart, ToolCallPart
from llmrelay.providers.base import ProviderCall
from llmrelay.providers.registry import (
    FEATURE_PARAMETERS,
    Feature,
    ProviderSpec,
    load_provider,
    resolve,
)
from llmrelay.secrets import SecretStore, load_secret, secret_store_for

__all__ = ["Route", "build_call", "features_of", "route", "stream_chat"]


@dataclass(frozen=True, slots=True)
class Route:
    """Where a request goes: the provider, and the model name its upstream expects."""

    spec: ProviderSpec
    model: str

    @property
    def model_id(self) -> str:
        return f"{self.spec.name}/{self.model}"


def route(request: ChatRequest, settings: Settings | None = None) -> Route:
    if settings is None:
        settings = get_settings()
    spec, model = resolve(request.model or settings.default_model)
    return Route(spec, model)


def _system_prompt(request: ChatRequest, settings: Settings) -> str | None:
    parts: list[str] = []
    if request.context_id is not None:
        prompt = settings.contexts.get(request.context_id)
        if prompt is None:
            raise InvalidRequest(f"context_id: unknown context {request.context_id[:50]!r}")
        parts.append(prompt)
    parts.extend(m.text for m in request.messages if m.role == "system")
    return "\n\n".join(parts) or None


def features_of(request: ChatRequest) -> list[Feature]:
    """What ``request`` asks of a provider beyond text, in a stable order."""
    asked: list[Feature] = []
    flags: list[tuple[Feature, bool]] = [
        ("tools", bool(request.tools)),
        ("tool_choice", request.tool_choice is not None),
        ("parallel_tool_calls", request.parallel_tool_calls is not None),
        ("response_format", bool(request.response_format and request.response_format.wants_json)),
        ("stop", request.stop is not None),
        ("top_p", request.top_p is not None),
        ("top_k", request.top_k is not None),
        ("seed", request.seed is not None),
        ("reasoning_effort", request.reasoning_effort not in (None, "none")),
    ]
    asked.extend(feature for feature, wanted in flags if wanted)
    parts = [part for message in request.messages for part in message.parts]
    if any(isinstance(p, ImagePart) and p.data is not None for p in parts):
        asked.append("images")
    if any(isinstance(p, ImagePart) and p.url is not None for p in parts):
        asked.append("image_urls")
    if any(isinstance(p, FilePart) for p in parts):
        asked.append("files")
    if any(isinstance(p, ToolCallPart) for p in parts) or any(
        m.role == "tool" for m in request.messages
    ):
        asked.append("tool_history")
    return asked


def _refuse_unsupported(request: ChatRequest, spec: ProviderSpec) -> None:
    refused = [f for f in features_of(request) if f in spec.unsupported]
    if refused:
        feature = refused[0]
        what = {
            "images": "image parts",
            "image_urls": "image URLs",
            "files": "file parts",
            "tool_history": "tool calls and tool results in messages",
        }
        name = what.get(feature, FEATURE_PARAMETERS[feature])
        raise UnsupportedParameter(
            f"{name}: not supported by provider {spec.name!r}",
            param=FEATURE_PARAMETERS[feature],
            provider=spec.name,
        )


def _checked(request: ChatRequest, spec: ProviderSpec, settings: Settings) -> str | None:
    """The merged system prompt, once the request's own faults are ruled out (an unknown
    ``context_id``, a parameter the provider cannot take): they come before configuration
    faults, and before any Secrets Manager call."""
    system = _system_prompt(request, settings)
    _refuse_unsupported(request, spec)
    return system


def build_call(
    request: ChatRequest, where: Route, secrets: SecretStore, settings: Settings
) -> ProviderCall:
    """The provider call for ``request``: system prompt merged, key (:mod:`llmrelay.keys`)
    and base URL looked up."""
    return _call_for(request, where, _checked(request, where.spec, settings), secrets, settings)


def _call_for(
    request: ChatRequest,
    where: Route,
    system: str | None,
    secrets: SecretStore,
    settings: Settings,
) -> ProviderCall:
    spec = where.spec
    key = provider_key(spec.key_name, secrets, settings) if spec.key_name else None
    if key is None and spec.key_required:
        raise MissingKey(
            f"no {spec.key_name} for provider {spec.name!r}, in the secret or the environment"
        )
    base_url = settings.base_url(spec.name) or spec.default_base_url
    if base_url is None and spec.needs_base_url:
        raise MissingKey(f"provider {spec.name!r} needs LLMRELAY_{spec.name.upper()}_BASE_URL")
    return ProviderCall(
        provider=spec.name,
        model=where.model,
        messages=tuple(m for m in request.messages if m.role != "system"),
        system=system,
        temperature=request.temperature,
        max_tokens=request.max_tokens,
        user=request.user,
        api_key=key,
        base_url=base_url,
        tools=tuple(request.tools or ()),
        tool_choice=request.tool_choice,
        parallel_tool_calls=request.parallel_tool_calls,
        response_format=request.response_format,
        stop=tuple(request.stop or ()),
        top_p=request.top_p,
        top_k=request.top_k,
        seed=request.seed,
        reasoning_effort=request.reasoning_effort,
    )


async def _with_fresh_key(
    request: ChatRequest,
    where: Route,
    system: str | None,
    secrets: SecretStore,
    settings: Settings,
) -> ProviderCall | None:
    """The call rebuilt after refetching the secret; ``None`` when the secret is unreadable
    (the upstream's 401 then says more than a second failure would)."""
    try:
        # refresh()'s "changed" is not enough: a concurrent request may already have
        # refreshed the shared store after this call read the old key. Callers compare keys.
        await load_secret(secrets, force=True)
        return _call_for(request, where, system, secrets, settings)
    except MissingKey:
        return None


async def stream_chat(
    request: ChatRequest,
    *,
    settings: Settings | None = None,
    secrets: SecretStore | None = None,
) -> AsyncIterator[StreamEvent]:
    """Stream one answer: its blocks (:mod:`llmrelay.events`), then exactly one ``Finish``.

    Failures raise :class:`llmrelay.errors.LLMRelayError`. When the upstream rejects the key
    before any text, the secret is fetched again and the call retried once with the new key
    (rotation without a redeploy).
    """
    if settings is None:
        settings = get_settings()
    if secrets is None:
        secrets = secret_store_for(settings.secret_id, settings.secret_max_age_s)
    where = route(request, settings)
    system = _checked(request, where.spec, settings)
    if where.spec.key_name:  # off the event loop, within the deadline (echo never waits)
        await load_secret(secrets)
    call = _call_for(request, where, system, secrets, settings)
    # After the call is built: a request that cannot be served never pays for importing an SDK.
    provider = load_provider(where.spec.kind)
    started = False
    try:
        async for event in provider.stream(call):
            started = True
            yield event
    except AuthenticationFailed:
        if started or where.spec.key_name is None:  # no key to fetch again
            raise
        retry = await _with_fresh_key(request, where, system, secrets, settings)
        if retry is None or retry.api_key == call.api_key:
            raise
        async for event in provider.stream(retry):
            yield event
