"""llmrelay: stream LLM answers from serverless Python.

>>> from llmrelay import ChatRequest, stream_chat
>>> async for event in stream_chat(ChatRequest(model="echo/echo", messages=[...])): ...

``stream_chat`` makes one call to one model. ``stream_resilient`` (what the gateway uses)
adds retries, fallback chains and stream timeouts, and announces the answering model
(``Routed``) before the answer's first item.

Provider keys come from the Secrets Manager secret (``LLMRELAY_SECRET_ID``), else from
each SDK's own environment variable (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``, ``HF_TOKEN``,
...); in code, pass them as ``stream_chat(request, secrets=StaticSecrets({...}))``.

Importing this package is cheap: no SDK is imported until its provider is first used.
"""

from llmrelay.chat import stream_chat
from llmrelay.errors import LLMRelayError
from llmrelay.events import Failure, Finish, Routed, StreamEvent, TextDelta, Usage
from llmrelay.extract import ExtractionFailed, extract
from llmrelay.models import ChatRequest, Message
from llmrelay.resilience import stream_resilient
from llmrelay.secrets import StaticSecrets

__all__ = [
    "ChatRequest",
    "ExtractionFailed",
    "Failure",
    "Finish",
    "LLMRelayError",
    "Message",
    "Routed",
    "StaticSecrets",
    "StreamEvent",
    "TextDelta",
    "Usage",
    "extract",
    "stream_chat",
    "stream_resilient",
]
