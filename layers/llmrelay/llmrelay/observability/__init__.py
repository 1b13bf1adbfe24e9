"""Observability: a structured log line and CloudWatch EMF metrics per invocation, with
Powertools, emitted once the response has ended (see :mod:`.middleware`, :mod:`.emit`).

Importing this package imports no Powertools: that happens when the first invocation ends.
"""

from llmrelay.observability.middleware import Observed, observed
from llmrelay.observability.record import (
    InvocationRecord,
    current_record,
    note_error,
    note_route,
)

__all__ = [
    "InvocationRecord",
    "Observed",
    "current_record",
    "note_error",
    "note_route",
    "observed",
]
