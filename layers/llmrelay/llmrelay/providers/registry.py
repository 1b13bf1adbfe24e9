"""Model strings (``provider/model``) to providers.

The table below is data: adding an OpenAI-compatible preset is one line. Provider modules
(and so their SDKs) are imported only when a model of theirs is first used.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Literal

from llmrelay.errors import UnknownModel
from llmrelay.providers.base import Provider

__all__ = [
    "FEATURE_PARAMETERS",
    "PROVIDERS",
    "Feature",
    "ProviderKind",
    "ProviderSpec",
    "load_provider",
    "resolve",
]

ProviderKind = Literal["openai", "anthropic", "huggingface", "bedrock", "echo"]
Feature = Literal[
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "stop",
    "top_p",
    "top_k",
    "seed",
    "reasoning_effort",
    "images",
    "image_urls",
    "files",
    "tool_history",
]
# What a request asks for, by the parameter a refusal names.
FEATURE_PARAMETERS: dict[Feature, str] = {
    "tools": "tools",
    "tool_choice": "tool_choice",
    "parallel_tool_calls": "parallel_tool_calls",
    "response_format": "response_format",
    "stop": "stop",
    "top_p": "top_p",
    "top_k": "top_k",
    "seed": "seed",
    "reasoning_effort": "reasoning_effort",
    "images": "messages",
    "image_urls": "messages",
    "files": "messages",
    "tool_history": "messages",
}
_NONE: frozenset[Feature] = frozenset()
# Only some APIs sample from the top k tokens (OpenAI's and most OpenAI-style ones do not).
_NO_TOP_K: frozenset[Feature] = frozenset({"top_k"})


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """``unsupported``: what the provider's API cannot take; a request that asks for it is
    refused before any upstream call (:class:`~llmrelay.errors.UnsupportedParameter`).
    ``needs_base_url``: a chat cannot start without one (echo and Bedrock find their way
    without). ``listed``: ``GET /v1/models`` offers ``<name>/*`` when configured (Bedrock
    only lists the models ``LLMRELAY_MODELS`` names: the role may reach none)."""

    name: str
    kind: ProviderKind
    key_name: str | None
    default_base_url: str | None = None
    key_required: bool = True
    unsupported: frozenset[Feature] = _NO_TOP_K
    needs_base_url: bool = True
    listed: bool = True


PROVIDERS: dict[str, ProviderSpec] = {
    spec.name: spec
    for spec in (
        ProviderSpec(
            "echo", "echo", None, key_required=False, needs_base_url=False, unsupported=_NONE
        ),
        ProviderSpec("openai", "openai", "OPENAI_API_KEY", "https://api.openai.com/v1"),
        ProviderSpec(
            "anthropic",
            "anthropic",
            "ANTHROPIC_API_KEY",
            "https://api.anthropic.com",
            # The Messages API has no seed.
            unsupported=frozenset({"seed"}),
        ),
        ProviderSpec(
            "huggingface",
            "huggingface",
            "HF_TOKEN",
            "https://router.huggingface.co/v1",
            unsupported=frozenset({"files", "top_k"}),
        ),
        # The function's own AWS credentials sign the call: nothing in the secret. The
        # endpoint is boto3's (AWS_REGION, or LLMRELAY_BEDROCK_REGION; boto3's own
        # AWS_ENDPOINT_URL_BEDROCK_RUNTIME, or LLMRELAY_BEDROCK_BASE_URL, override it).
        ProviderSpec(
            "bedrock",
            "bedrock",
            None,
            key_required=False,
            needs_base_url=False,
            listed=False,
            unsupported=frozenset({"seed", "parallel_tool_calls", "image_urls", "top_k"}),
        ),
        ProviderSpec("groq", "openai", "GROQ_API_KEY", "https://api.groq.com/openai/v1"),
        ProviderSpec(
            "gemini",
            "openai",
            "GEMINI_API_KEY",
            "https://generativelanguage.googleapis.com/v1beta/openai/",
        ),
        ProviderSpec("mistral", "openai", "MISTRAL_API_KEY", "https://api.mistral.ai/v1"),
        ProviderSpec("deepseek", "openai", "DEEPSEEK_API_KEY", "https://api.deepseek.com/v1"),
        ProviderSpec("together", "openai", "TOGETHER_API_KEY", "https://api.together.xyz/v1"),
        ProviderSpec("openrouter", "openai", "OPENROUTER_API_KEY", "https://openrouter.ai/api/v1"),
        # Any other OpenAI-compatible server (vLLM, Ollama, LM Studio, a private gateway):
        # set LLMRELAY_COMPAT_BASE_URL; a key (COMPAT_API_KEY) is optional.
        ProviderSpec("compat", "openai", "COMPAT_API_KEY", None, key_required=False),
    )
}

_MODULES: dict[ProviderKind, str] = {
    "echo": "llmrelay.providers.echo:EchoProvider",
    "openai": "llmrelay.providers.openai:OpenAIProvider",
    "anthropic": "llmrelay.providers.anthropic:AnthropicProvider",
    "huggingface": "llmrelay.providers.huggingface:HuggingFaceProvider",
    "bedrock": "llmrelay.providers.bedrock:BedrockProvider",
}
_loaded: dict[ProviderKind, Provider] = {}


def resolve(model: str) -> tuple[ProviderSpec, str]:
    """Split ``provider/model`` on the first ``/`` only and find the provider."""
    provider, sep, name = model.partition("/")
    if not sep or not provider or not name:
        raise UnknownModel(f"model must look like 'provider/model', got {model[:100]!r}")
    spec = PROVIDERS.get(provider.lower())
    if spec is None:
        known = ", ".join(sorted(PROVIDERS))
        raise UnknownModel(f"unknown provider {provider[:50]!r}; known: {known}")
    return spec, name


def load_provider(kind: ProviderKind) -> Provider:
    """The provider of ``kind``, its module imported on first use and kept for warm calls."""
    provider = _loaded.get(kind)
    if provider is None:
        module_name, _, class_name = _MODULES[kind].partition(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        provider = _loaded[kind] = cls()
    return provider
