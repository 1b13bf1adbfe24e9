"""Fake upstream servers on loopback that speak each provider's real streaming wire format.

Used by the tests, by ``make bench`` and by ``llmrelay dev --simulate``.
"""

from llmrelay.testing.anthropic_fake import FakeAnthropic
from llmrelay.testing.bedrock_fake import FakeBedrock
from llmrelay.testing.openai_fake import FakeHuggingFace, FakeOpenAI
from llmrelay.testing.upstream import FakeToolCall, FakeUpstream, Fault, RecordedRequest, Reply

__all__ = [
    "FakeAnthropic",
    "FakeBedrock",
    "FakeHuggingFace",
    "FakeOpenAI",
    "FakeToolCall",
    "FakeUpstream",
    "Fault",
    "RecordedRequest",
    "Reply",
]
