"""Providers: one module per upstream family, all behind :class:`Provider`."""

from llmrelay.providers.base import Provider, ProviderCall
from llmrelay.providers.registry import PROVIDERS, ProviderSpec, load_provider, resolve

__all__ = ["PROVIDERS", "Provider", "ProviderCall", "ProviderSpec", "load_provider", "resolve"]
