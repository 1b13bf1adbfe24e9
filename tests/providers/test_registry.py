from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from llmrelay.errors import UnknownModel
from llmrelay.providers.echo import EchoProvider
from llmrelay.providers.registry import PROVIDERS, load_provider, resolve

PACKAGE_ROOT = Path(__file__).resolve().parents[2] / "layers" / "llmrelay"


@pytest.mark.parametrize(
    ("model", "provider", "name"),
    [
        pytest.param("openai/gpt-4o-mini", "openai", "gpt-4o-mini", id="openai"),
        pytest.param(
            "anthropic/claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5", id="anthropic"
        ),
        pytest.param(
            "huggingface/meta-llama/Llama-3.1-8B-Instruct",
            "huggingface",
            "meta-llama/Llama-3.1-8B-Instruct",
            id="huggingface-slash-kept",
        ),
        pytest.param("groq/llama-3.1-8b-instant", "groq", "llama-3.1-8b-instant", id="groq"),
        pytest.param("openrouter/a/b/c", "openrouter", "a/b/c", id="several-slashes"),
        pytest.param("echo/echo", "echo", "echo", id="echo"),
        pytest.param("OpenAI/gpt-4o", "openai", "gpt-4o", id="provider-any-case"),
        pytest.param("compat/Qwen/Qwen2.5:7b", "compat", "Qwen/Qwen2.5:7b", id="compat"),
    ],
)
def test_a_model_string_splits_on_its_first_slash_only(
    model: str, provider: str, name: str
) -> None:
    spec, upstream_model = resolve(model)
    assert (spec.name, upstream_model) == (provider, name)


@pytest.mark.parametrize(
    ("model", "hint"),
    [
        pytest.param("gpt-4o-mini", "provider/model", id="no-slash"),
        pytest.param("/gpt-4o-mini", "provider/model", id="no-provider"),
        pytest.param("openai/", "provider/model", id="no-model"),
        pytest.param("", "provider/model", id="empty"),
        pytest.param("azure/gpt-4o", "unknown provider 'azure'", id="unknown-provider"),
    ],
)
def test_a_bad_model_string_is_an_unknown_model(model: str, hint: str) -> None:
    with pytest.raises(UnknownModel) as caught:
        resolve(model)
    assert hint in caught.value.message
    assert caught.value.status == 400


def test_an_unknown_provider_error_lists_the_known_ones() -> None:
    with pytest.raises(UnknownModel) as caught:
        resolve("nope/x")
    assert all(name in caught.value.message for name in PROVIDERS)


def test_a_huge_model_string_is_not_echoed_whole() -> None:
    with pytest.raises(UnknownModel) as caught:
        resolve("x" * 10_000)
    assert len(caught.value.message) < 200


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_every_preset_resolves_to_itself(name: str) -> None:
    spec, model = resolve(f"{name}/some-model")
    assert spec is PROVIDERS[name]
    assert spec.name == name
    assert model == "some-model"


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_every_preset_is_fully_described(name: str) -> None:
    spec = PROVIDERS[name]
    assert spec.kind in {"openai", "anthropic", "huggingface", "bedrock", "echo"}
    if spec.key_required:
        assert spec.key_name is not None
    if spec.default_base_url is not None:
        assert spec.default_base_url.startswith("https://")
    elif spec.needs_base_url:
        # compat's address is one only the operator knows.
        assert name == "compat"
    else:
        # echo has no network; Bedrock's endpoint is boto3's, for the region.
        assert name in {"echo", "bedrock"}


def test_the_keys_named_in_the_design_belong_to_their_providers() -> None:
    keys = {name: spec.key_name for name, spec in PROVIDERS.items()}
    assert keys["openai"] == "OPENAI_API_KEY"
    assert keys["anthropic"] == "ANTHROPIC_API_KEY"
    assert keys["huggingface"] == "HF_TOKEN"
    assert keys["groq"] == "GROQ_API_KEY"
    assert keys["gemini"] == "GEMINI_API_KEY"
    assert keys["echo"] is None
    assert keys["bedrock"] is None  # the function's own IAM role signs its calls


def test_a_loaded_provider_is_kept_for_warm_calls() -> None:
    first = load_provider("echo")
    assert isinstance(first, EchoProvider)
    assert load_provider("echo") is first


_PROBE = textwrap.dedent(
    """
    import asyncio, json, sys
    import llmrelay
    from llmrelay import ChatRequest, stream_chat

    heavy = ("openai", "anthropic", "huggingface_hub", "boto3", "aws_lambda_powertools")
    def loaded():
        return sorted(m for m in heavy if m in sys.modules)

    after_import = loaded()
    request = ChatRequest(messages=[{"role": "user", "content": "hi there"}])
    async def main():
        return "".join([e.text async for e in stream_chat(request) if hasattr(e, "text")])
    text = asyncio.run(main())
    print(json.dumps({"after_import": after_import, "after_echo": loaded(), "text": text}))
    """
)


def test_importing_llmrelay_and_using_echo_loads_no_sdk() -> None:
    # A fresh interpreter: this test process has long since imported everything.
    result = subprocess.run(
        [sys.executable, "-c", _PROBE],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(PACKAGE_ROOT), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    report = json.loads(result.stdout)
    assert report == {"after_import": [], "after_echo": [], "text": "hi there"}
