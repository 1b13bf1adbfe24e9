"""llmrelay: stream LLM answers from serverless Python.

>>> from llmrelay import ChatRequest, stream_chat
>>> async for event in stream_chat(ChatRequest(model="echo/echo", messages=[...])): ...

Importing this package is cheap: no SDK is imported until its provider is first used.
"""

from llmrelay.chat import stream_chat
from llmrelay.errors import LLMRelayError
from llmrelay.events import Failure, Finish, StreamEvent, TextDelta, Usage
from llmrelay.models import ChatRequest, Message

__all__ = [
    "ChatRequest",
    "Failure",
    "Finish",
    "LLMRelayError",
    "Message",
    "StreamEvent",
    "TextDelta",
    "Usage",
    "stream_chat",
]
