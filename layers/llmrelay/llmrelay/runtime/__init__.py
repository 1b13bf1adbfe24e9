"""The Lambda response-streaming runtime for Python.

A function module exports ``handler = streaming_handler(app)``. On Lambda the exec wrapper
``llmrelay-stream`` starts :mod:`llmrelay.runtime.loop`, which streams each response through
the Runtime API as the app produces it; without the wrapper the same object answers the
ordinary buffered way.
"""

from llmrelay.runtime.context import LambdaContext
from llmrelay.runtime.handler import StreamingHandler, streaming_handler

__all__ = ["LambdaContext", "StreamingHandler", "streaming_handler"]
