from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx2
from openai import AsyncOpenAI
from tests.gateway.app_client import call_json, sdk_transport

from llmrelay.config import Settings
from llmrelay.errors import MissingKey
from llmrelay.gateway import build_app
from llmrelay.gateway.models_route import ModelList, model_ids
from llmrelay.secrets import StaticSecrets

SecretFactory = Callable[..., Any]


def ids(keys: Mapping[str, str] | None = None, **env: str) -> list[str]:
    return model_ids(StaticSecrets(keys), Settings.from_env(env))


def test_with_no_secret_only_echo_is_listed() -> None:
    assert ids() == ["echo/echo"]


def test_the_default_model_comes_first() -> None:
    assert ids({"OPENAI_API_KEY": "k"}, LLMRELAY_DEFAULT_MODEL="openai/gpt-4o-mini") == [
        "openai/gpt-4o-mini",
        "openai/*",
        "echo/echo",
    ]


def test_each_provider_with_a_key_is_listed_in_registry_order() -> None:
    keys = {"ANTHROPIC_API_KEY": "a", "OPENAI_API_KEY": "o", "GROQ_API_KEY": "g"}
    assert ids(keys) == ["echo/echo", "openai/*", "anthropic/*", "groq/*"]


def test_named_models_replace_their_providers_wildcard_when_the_provider_is_ready() -> None:
    listed = "openai/gpt-4o-mini, anthropic/claude-sonnet-4-5,openai/gpt-4o,bogus"
    assert ids({"OPENAI_API_KEY": "o"}, LLMRELAY_MODELS=listed) == [
        "echo/echo",
        "openai/gpt-4o-mini",
        "openai/gpt-4o",
    ]


def test_a_compatible_server_is_listed_once_its_base_url_is_set() -> None:
    assert "compat/*" not in ids()
    assert "compat/*" in ids(LLMRELAY_COMPAT_BASE_URL="http://127.0.0.1:8000/v1")


class _Unreadable(StaticSecrets):
    def get(self, name: str) -> str | None:
        raise MissingKey("could not read secret 'x'")


def test_an_unreadable_secret_lists_what_needs_no_key() -> None:
    env = {"LLMRELAY_COMPAT_BASE_URL": "http://127.0.0.1:8000/v1"}
    assert model_ids(_Unreadable(), Settings.from_env(env)) == ["echo/echo", "compat/*"]


async def test_the_list_has_openais_shape_and_the_sdk_reads_it() -> None:
    app = build_app(secrets=StaticSecrets({"ANTHROPIC_API_KEY": "a"}))
    status, body = await call_json(app, "GET", "/v1/models")
    assert status == 200
    assert body == {
        "object": "list",
        "data": [
            {"id": "echo/echo", "object": "model", "created": 0, "owned_by": "echo"},
            {"id": "anthropic/*", "object": "model", "created": 0, "owned_by": "anthropic"},
        ],
    }
    client = AsyncOpenAI(
        base_url="http://gateway.test/v1",
        api_key="unused",
        http_client=httpx2.AsyncClient(transport=sdk_transport(app)),
    )
    async with client:
        models = [model.id async for model in client.models.list()]
    assert models == ["echo/echo", "anthropic/*"]


async def test_keys_are_read_from_the_configured_secrets_manager_secret(
    moto_secret: SecretFactory,
) -> None:
    moto_secret({"HF_TOKEN": "hf_test_token_value"})
    status, body = await call_json(ModelList(), "GET", "/v1/models")
    assert status == 200
    assert [entry["id"] for entry in _data(body)] == ["echo/echo", "huggingface/*"]


def _data(body: object) -> list[dict[str, Any]]:
    assert isinstance(body, dict)
    data: list[dict[str, Any]] = body["data"]
    return data
