"""``GET /v1/models``: the models this deployment can answer with, in OpenAI's list shape;
``GET /v1/models/{id}``: one of them (an id may hold slashes: ``openai/gpt-4o-mini``).

``{"object": "list", "data": [{"id", "object": "model", "created": 0, "owned_by"}]}``,
in this order, without repeats:

1. the default model (``LLMRELAY_DEFAULT_MODEL``, else ``echo/echo``);
2. each model named in ``LLMRELAY_MODELS`` (comma-separated ``provider/model``) whose
   provider is configured;
3. ``<provider>/*`` for every other configured provider: any of its models may be named
   (not ``bedrock/*``: the function's role may reach no model at all, so Bedrock models are
   listed only when named);
4. ``echo/echo``, which needs nothing.

A provider is configured when the secret or the environment holds its key
(:mod:`llmrelay.keys`; or it needs none) and it has a base URL. The secret is read the way
a chat reads it (cached across warm invocations); when it cannot be read, only what needs
no key is listed.

One model is found when it is listed, or when its provider is listed as ``<provider>/*``
(any of its models may be named); else 404 ``model_not_found``, in OpenAI's error shape
like every error under ``/v1/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import unquote

from llmrelay.config import Settings, get_settings
from llmrelay.errors import LLMRelayError
from llmrelay.gateway.logs import log_record
from llmrelay.gateway.responses import json_response
from llmrelay.http import HttpRequest, HttpResponse, InvocationContext
from llmrelay.keys import provider_key
from llmrelay.providers.registry import PROVIDERS, ProviderSpec, resolve
from llmrelay.secrets import SecretStore, StaticSecrets, load_secret, secret_store_for

__all__ = ["ModelById", "ModelList", "ModelNotFound", "configured", "find_model", "model_ids"]

_ECHO = "echo/echo"
_PREFIX = "/v1/models/"


class ModelNotFound(LLMRelayError):
    """``GET /v1/models/{id}`` names a model this deployment cannot answer with."""

    code = "model_not_found"
    status = 404


def configured(spec: ProviderSpec, secrets: SecretStore, settings: Settings) -> bool:
    """Whether a chat with this provider can start (the checks of
    :func:`llmrelay.chat.build_call`); raises when the secret cannot be read."""
    if spec.needs_base_url and not (settings.base_url(spec.name) or spec.default_base_url):
        return False
    if spec.key_name is None or not spec.key_required:
        return True
    return provider_key(spec.key_name, secrets, settings) is not None


def _ready(secrets: SecretStore, settings: Settings) -> set[str]:
    try:
        return {name for name, spec in PROVIDERS.items() if configured(spec, secrets, settings)}
    except LLMRelayError as error:
        log_record("WARNING", "models: the secret could not be read", error=str(error))
        return _ready(StaticSecrets(), settings)


def _provider_of(model: str) -> ProviderSpec | None:
    try:
        return resolve(model)[0]
    except LLMRelayError:
        return None


def model_ids(secrets: SecretStore, settings: Settings) -> list[str]:
    """The ids to list, in order (see the module's docstring)."""
    ready = _ready(secrets, settings)
    chosen = [m for m in settings.listed_models if (spec := _provider_of(m)) and spec.name in ready]
    covered = {model.partition("/")[0] for model in chosen} | {"echo"}
    ids = [settings.default_model, *chosen]
    ids += [
        f"{name}/*"
        for name, spec in PROVIDERS.items()
        if spec.listed and name in ready and name not in covered
    ]
    return list(dict.fromkeys([*ids, _ECHO]))


def _entries(ids: list[str]) -> Iterator[dict[str, object]]:
    for model in ids:
        owner = model.partition("/")[0]
        yield {"id": model, "object": "model", "created": 0, "owned_by": owner}


class ModelList:
    """The ``GET /v1/models`` handler; ``settings`` and ``secrets`` default to the
    process-wide ones, looked up per request (nothing is read at build time)."""

    def __init__(
        self, *, settings: Settings | None = None, secrets: SecretStore | None = None
    ) -> None:
        self._settings = settings
        self._secrets = secrets

    async def ids(self) -> list[str]:
        """The ids to list, read with the secret (see the module's docstring)."""
        settings = self._settings or get_settings()
        secrets = self._secrets or secret_store_for(settings.secret_id, settings.secret_max_age_s)
        try:  # off the event loop, bounded: a stalled Secrets Manager lists what needs no key
            await load_secret(secrets)
        except LLMRelayError as error:
            log_record("WARNING", "models: the secret could not be read", error=str(error))
            secrets = StaticSecrets()
        return model_ids(secrets, settings)

    async def __call__(self, request: HttpRequest, context: InvocationContext) -> HttpResponse:
        ids = await self.ids()
        return json_response(200, {"object": "list", "data": list(_entries(ids))})


def find_model(model: str, ids: list[str]) -> str | None:
    """``model`` when the list has it, or has its provider's ``<provider>/*``."""
    provider, _, name = model.partition("/")
    if model in ids or (name and f"{provider}/*" in ids):
        return model
    return None


class ModelById:
    """The ``GET /v1/models/{id}`` handler, over the same list as ``models``."""

    def __init__(self, models: ModelList) -> None:
        self._models = models

    async def __call__(self, request: HttpRequest, context: InvocationContext) -> HttpResponse:
        model = unquote(request.path.rstrip("/").removeprefix(_PREFIX))
        found = find_model(model, await self._models.ids())
        if found is None:
            shown = model[:200]
            raise ModelNotFound(f"the model {shown!r} does not exist or is not configured here")
        [entry] = _entries([found])
        return json_response(200, entry)
