"""Fallback chains: which models are tried, in which order, for a request's model."""

from __future__ import annotations

import pytest

from llmrelay.errors import ConfigurationError
from llmrelay.resilience import model_chain

GPT = "openai/gpt-4o-mini"
HAIKU = "anthropic/claude-haiku-4-5"
LLAMA = "groq/llama-3.1-8b-instant"


@pytest.mark.parametrize(
    ("fallbacks", "chain"),
    [
        pytest.param({}, (GPT,), id="none-configured"),
        pytest.param({GPT: (HAIKU, LLAMA)}, (GPT, HAIKU, LLAMA), id="own-chain-in-order"),
        pytest.param({"*": (LLAMA,)}, (GPT, LLAMA), id="default-chain"),
        pytest.param({GPT: (HAIKU,), "*": (LLAMA,)}, (GPT, HAIKU), id="own-chain-wins"),
        pytest.param({GPT: ()}, (GPT,), id="own-empty-chain-wins"),
        pytest.param({HAIKU: (LLAMA,)}, (GPT,), id="other-models-chain"),
        pytest.param({"*": (GPT, HAIKU, HAIKU)}, (GPT, HAIKU), id="no-repeats"),
        pytest.param(
            {"OpenAI/gpt-4o-mini": ("Anthropic/claude-haiku-4-5",)}, (GPT, HAIKU), id="case"
        ),
    ],
)
def test_the_primary_comes_first_then_its_fallbacks(
    fallbacks: dict[str, tuple[str, ...]], chain: tuple[str, ...]
) -> None:
    assert model_chain(GPT, fallbacks) == chain


@pytest.mark.parametrize(
    "fallbacks",
    [
        pytest.param({GPT: ("nowhere/model",)}, id="unknown-provider"),
        pytest.param({GPT: ("no-slash",)}, id="not-provider-slash-model"),
        pytest.param({"nowhere/x": (HAIKU,)}, id="unknown-key"),
        pytest.param({HAIKU: ("bad",)}, id="in-another-chain"),
    ],
)
def test_a_bad_model_anywhere_in_the_chains_is_a_configuration_error(
    fallbacks: dict[str, tuple[str, ...]],
) -> None:
    with pytest.raises(ConfigurationError, match="LLMRELAY_FALLBACKS"):
        model_chain(GPT, fallbacks)
