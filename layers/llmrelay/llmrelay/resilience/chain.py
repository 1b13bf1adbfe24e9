"""Fallback chains: the models to try, in order, for a request's model.

Configured as ``LLMRELAY_FALLBACKS`` (see :class:`llmrelay.config.Settings`), a JSON object
from a model to the models that may answer in its place; ``"*"`` gives the chain of every
model without one of its own. Model strings are compared as the registry resolves them
(``OpenAI/gpt-4o`` is ``openai/gpt-4o``). The primary is never repeated in its own chain,
nor any model twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from llmrelay.errors import ConfigurationError, UnknownModel
from llmrelay.providers.registry import resolve

__all__ = ["DEFAULT_CHAIN", "model_chain"]

DEFAULT_CHAIN: Final = "*"


def _model_id(model: str) -> str:
    try:
        spec, name = resolve(model)
    except UnknownModel as exc:
        raise ConfigurationError(f"LLMRELAY_FALLBACKS: {exc.message}") from None
    return f"{spec.name}/{name}"


def _unique(models: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(models))


def model_chain(primary: str, fallbacks: Mapping[str, Iterable[str]]) -> tuple[str, ...]:
    """``primary`` (a resolved ``provider/model``), then its fallbacks.

    Every configured model is checked, not only this chain's, so a typo anywhere in
    ``LLMRELAY_FALLBACKS`` is a ``configuration_error`` on the first request, not a
    surprise on the day a fallback is needed.
    """
    chains: dict[str, tuple[str, ...]] = {}
    for key, models in fallbacks.items():
        name = key if key == DEFAULT_CHAIN else _model_id(key)
        chains[name] = tuple(_model_id(model) for model in models)
    chain = chains.get(primary, chains.get(DEFAULT_CHAIN, ()))
    return _unique([primary, *chain])
