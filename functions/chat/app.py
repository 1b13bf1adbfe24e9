"""The chat function: wiring only. The routes live in :mod:`llmrelay.gateway`, the
streaming Lambda runtime in :mod:`llmrelay.runtime` (both in the layer)."""

from llmrelay.gateway import build_app
from llmrelay.runtime import streaming_handler

__all__ = ["handler"]

handler = streaming_handler(build_app())
