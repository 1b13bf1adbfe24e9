"""Resilience: retries with backoff, fallback chains and stream timeouts, applied while
nothing of the answer has reached the caller (:func:`stream_resilient`).

- :mod:`.policy`: what is retried, how long to wait, what falls back (pure);
- :mod:`.chain`: the models to try for a request's model (``LLMRELAY_FALLBACKS``);
- :mod:`.timed`: first-token, idle and total timeouts on one attempt's stream;
- :mod:`.deadline`: the deadline the gateway's guard publishes to the stream it runs;
- :mod:`.watch`: the answering model, read off a resilient stream by the gateway;
- :mod:`.run`: the orchestration.
"""

from llmrelay.resilience.chain import model_chain
from llmrelay.resilience.deadline import current_deadline, deadline_context
from llmrelay.resilience.policy import Resilience, RetryPolicy, Timeouts, falls_back, is_retryable
from llmrelay.resilience.run import Opener, ResilientEvent, Sleep, stream_resilient
from llmrelay.resilience.timed import timed
from llmrelay.resilience.watch import AnswerStream, ModelWatch

__all__ = [
    "AnswerStream",
    "ModelWatch",
    "Opener",
    "Resilience",
    "ResilientEvent",
    "RetryPolicy",
    "Sleep",
    "Timeouts",
    "current_deadline",
    "deadline_context",
    "falls_back",
    "is_retryable",
    "model_chain",
    "stream_resilient",
    "timed",
]
