"""The developer's shell variables that must reach neither a test nor the emulator:
no real keys, no real endpoints, no AWS."""

from __future__ import annotations

from llmrelay.providers.registry import PROVIDERS

__all__ = ["is_scrubbed"]

_SCRUBBED_PREFIXES = ("LLMRELAY_", "AWS_", "POWERTOOLS_PARAMETERS_")
# Every provider's key variable counts: llmrelay reads them when the secret has no key.
_SCRUBBED = frozenset(
    {
        *(spec.key_name for spec in PROVIDERS.values() if spec.key_name),
        "OPENAI_BASE_URL",
        "ANTHROPIC_BASE_URL",
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
    }
)


def is_scrubbed(name: str) -> bool:
    """Whether the environment variable ``name`` must be dropped from the shell's."""
    return name.startswith(_SCRUBBED_PREFIXES) or name in _SCRUBBED
