"""Fake upstream servers on loopback that speak each provider's real streaming wire format.

Used by the tests, by ``make bench`` and by ``llmrelay dev --simulate``.
"""

from llmrelay.testing.upstream import Fault, FakeUpstream, RecordedRequest, Reply

__all__ = ["FakeUpstream", "Fault", "RecordedRequest", "Reply"]
