from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx2
import openai
import pytest
from openai import AsyncOpenAI
from tests.gateway.app_client import call_json, sdk_transport

from llmrelay.config import Settings
from llmrelay.errors import MissingKey
from llmrelay.gateway import build_app
from llmrelay.gateway.models_route import ModelList, find_model, model_ids
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
    listed = "openai/gpt-4o-mini, anthropic/claude-sonnet-4-6,openai/gpt-4o,bogus"
    assert ids({"OPENAI_API_KEY": "o"}, LLMRELAY_MODELS=listed) == [
        "echo/echo",
        "openai/gpt-4o-mini",
        "openai/gpt-4o",
    ]


def test_a_compatible_server_is_listed_once_its_base_url_is_set() -> None:
    assert "compat/*" not in ids()
    assert "compat/*" in ids(LLMRELAY_COMPAT_BASE_URL="http://127.0.0.1:8000/v1")


def test_bedrock_models_are_listed_only_when_named() -> None:
    """The role may reach no Bedrock model at all: never ``bedrock/*``, only what is named."""
    assert not any(model.startswith("bedrock/") for model in ids())
    named = "bedrock/amazon.nova-pro-v1:0,bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert ids(LLMRELAY_MODELS=named) == ["echo/echo", *named.split(",")]
    default = ids(LLMRELAY_DEFAULT_MODEL="bedrock/amazon.nova-lite-v1:0")
    assert default == ["bedrock/amazon.nova-lite-v1:0", "echo/echo"]


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


def client_of(app: Any) -> AsyncOpenAI:
    http_client = httpx2.AsyncClient(transport=sdk_transport(app))
    return AsyncOpenAI(
        base_url="http://gateway.test/v1", api_key="unused", http_client=http_client, max_retries=0
    )


def test_a_model_is_found_when_listed_or_when_its_provider_is() -> None:
    listed = ["openai/gpt-4o-mini", "anthropic/*", "echo/echo"]
    assert find_model("openai/gpt-4o-mini", listed) == "openai/gpt-4o-mini"
    assert find_model("anthropic/claude-sonnet-4-6", listed) == "anthropic/claude-sonnet-4-6"
    assert find_model("openai/gpt-5", listed) is None
    assert find_model("anthropic", listed) is None
    assert find_model("nope/x", listed) is None


async def test_the_sdk_retrieves_one_model_whose_id_holds_a_slash() -> None:
    app = build_app(secrets=StaticSecrets({"ANTHROPIC_API_KEY": "a"}))
    async with client_of(app) as client:
        echo = await client.models.retrieve("echo/echo")
        claude = await client.models.retrieve("anthropic/claude-sonnet-4-6")
    assert (echo.id, echo.owned_by, echo.object) == ("echo/echo", "echo", "model")
    assert (claude.id, claude.owned_by) == ("anthropic/claude-sonnet-4-6", "anthropic")
    status, body = await call_json(app, "GET", "/v1/models/echo%2Fecho")
    assert (status, body) == (
        200,
        {"id": "echo/echo", "object": "model", "created": 0, "owned_by": "echo"},
    )


async def test_an_unknown_model_is_openais_404() -> None:
    async with client_of(build_app()) as client:
        with pytest.raises(openai.NotFoundError) as caught:
            await client.models.retrieve("openai/gpt-4o")  # no key: not configured here
    assert caught.value.code == "model_not_found"
    assert caught.value.type == "not_found_error"
    assert "openai/gpt-4o" in caught.value.message


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/v1/nothing-here", 404, "not_found"),
        ("DELETE", "/v1/models", 405, "method_not_allowed"),
        ("PUT", "/v1/models/echo/echo", 405, "method_not_allowed"),
        ("GET", "/v1/chat/completions", 405, "method_not_allowed"),
    ],
)
async def test_router_errors_under_v1_have_openais_shape(
    method: str, path: str, status: int, code: str
) -> None:
    got, body = await call_json(build_app(), method, path)
    assert got == status
    assert isinstance(body, dict)
    assert set(body["error"]) == {"message", "type", "code", "param"}
    assert body["error"]["code"] == code


async def test_router_errors_elsewhere_keep_the_gateways_shape() -> None:
    got, body = await call_json(build_app(), "GET", "/nothing-here")
    assert got == 404
    assert body == {
        "error": {
            "code": "not_found",
            "message": "no route for '/nothing-here'",
            "retryable": False,
        }
    }
