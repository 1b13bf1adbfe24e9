"""The UI stream column of the translation matrix, read by the real ``ai`` package: every
provider's fake answers through ``make dev``'s emulator (keys from the providers' own
environment variables, base URLs pointed at the fakes), and ``useChat``'s transport and
``readUIMessageStream`` assemble the message. Its reasoning with the signature, the two
parallel tool calls with their exact input, the text and the usage with cache tokens equal
what the upstream sent (:mod:`tests.faults.test_translation_matrix` has the script)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from tests.e2e.emulator import FAST_ECHO, Emulator, running_emulator
from tests.e2e.test_vercel_ai import read_with_ai
from tests.faults.test_translation_matrix import CALLS, REPLY, SIGNATURE

from llmrelay.testing import FakeAnthropic, FakeHuggingFace, FakeOpenAI, FakeUpstream

pytestmark = pytest.mark.e2e

MODELS = {
    "openai": "openai/gpt-4o-mini",
    "anthropic": "anthropic/claude-haiku-4-5",
    "huggingface": "huggingface/meta-llama/Llama-3.1-8B-Instruct",
}


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, FakeUpstream]]:
    with contextlib.ExitStack() as stack:
        yield {
            "openai": stack.enter_context(FakeOpenAI()),
            "anthropic": stack.enter_context(FakeAnthropic()),
            "huggingface": stack.enter_context(FakeHuggingFace()),
        }


@pytest.fixture(scope="module")
def upstream_emulator(
    fakes: dict[str, FakeUpstream], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Emulator]:
    env = {
        **FAST_ECHO,
        "LLMRELAY_OPENAI_BASE_URL": f"{fakes['openai'].url}/v1",
        "LLMRELAY_ANTHROPIC_BASE_URL": fakes["anthropic"].url,
        "LLMRELAY_HUGGINGFACE_BASE_URL": f"{fakes['huggingface'].url}/v1",
        "OPENAI_API_KEY": "sk-matrix-openai",
        "ANTHROPIC_API_KEY": "sk-ant-matrix",
        "HF_TOKEN": "hf_matrixtoken",
    }
    log = tmp_path_factory.mktemp("ui-matrix") / "dev.log"
    with running_emulator(log, env) as running:
        yield running


@pytest.mark.parametrize("provider", list(MODELS))
def test_the_ai_package_reads_what_the_upstream_sent(
    provider: str, fakes: dict[str, FakeUpstream], upstream_emulator: Emulator
) -> None:
    fakes[provider].queue(REPLY)
    result = read_with_ai(upstream_emulator, "weather and time?", MODELS[provider])
    assert result["errors"] == []
    parts: list[dict[str, Any]] = result["message"]["parts"]
    reasoning = [part for part in parts if part["type"] == "reasoning"]
    assert "".join(part["text"] for part in reasoning) == "".join(REPLY.reasoning)
    signature = reasoning[0].get("providerMetadata", {}).get("llmrelay", {}).get("signature")
    assert signature == (SIGNATURE if provider == "anthropic" else None)
    assert result["text"] == REPLY.text
    tools = [
        (part["toolCallId"], part["type"].removeprefix("tool-"), part["input"], part["state"])
        for part in parts
        if part["type"].startswith("tool-")
    ]
    assert tools == [(c.id, c.name, json.loads(c.arguments), "input-available") for c in CALLS]
    usage = result["message"]["metadata"]["usage"]
    assert (usage["inputTokens"], usage["outputTokens"]) == (
        REPLY.input_tokens,
        REPLY.completion_tokens,
    )
    assert usage["inputTokenDetails"]["cacheReadTokens"] == REPLY.cached_tokens
    assert len(fakes[provider].requests) == 1
