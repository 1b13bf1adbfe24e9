"""The fault table: what each scripted failure of the primary upstream must end in.

Each :class:`Scenario` queues replies on the primary's fake (every fault message quotes the
key the fake was sent, as real upstreams do in a 401, so that redaction is tested by every
row) and says what the client must see:

- a failure before any text that a retry can cure (429 within the honoured ``retry-after``,
  500/503/529, a slow first byte, a stream cut, garbled or failed before its first token)
  is retried once, invisibly: the answer arrives whole and the fake saw two requests;
- a failure that retrying cannot cure (401 with no rotated key, 400, a ``retry-after``
  beyond the honoured limit) or that outlasts the retries is the response's HTTP status,
  in the dialect's JSON error shape, after one request (or two, once retried);
- a failure after the first delta is never retried nor fallen back: streamed dialects end
  with their in-band error event after the text that got through; batch dialects, which
  have not answered yet, answer the error's HTTP status;
- with a fallback configured, a failure worth another model moves the request to the
  secondary upstream, and every part of the response names the secondary.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from llmrelay.testing import Fault, Reply

__all__ = [
    "IDLE_TIMEOUT_MS",
    "MID",
    "SCENARIOS",
    "SLOW_S",
    "TEXT",
    "TEXT_BEFORE_MID",
    "TIMEOUT_MS",
    "Expect",
    "Scenario",
]

# The first-token timeout: short enough that the timeout cases stay cheap (they wait, they
# do not burn CPU), long enough never to fire for a fake that answers at once (in ~5 ms) on a
# loaded 2-core machine: `make test`'s parallel workers beside the e2e emulators and the browser,
# on a fresh clone still compiling its bytecode. 350 ms fired there, then 800 ms did too (a
# retry's new connection, SigV4-signed on a thread, took 1.2 s). The idle timeout guards only
# the gap between pieces the fake writes back to back, already read when the gap starts, with
# no connection, thread or request to make in it: a third as long. SLOW_S stays far beyond a
# timed-out and retried try.
TIMEOUT_MS = 1500
IDLE_TIMEOUT_MS = 400
SLOW_S = 5.0  # a slow first byte or a stall: far beyond the timeouts (never waited for)

TEXT = Reply().text  # "Hello, world!"
MID = 2  # mid-stream faults strike after this many pieces
TEXT_BEFORE_MID = "".join(Reply().pieces[:MID])
RETRY_AFTER_S = 0.1  # honoured (under LLMRELAY_RETRY_AFTER_MAX_MS): waited, then retried
LONG_RETRY_AFTER = "30"  # over the 10 s limit: not worth waiting for, passed on to the client


@dataclass(frozen=True)
class Expect:
    """``code`` ``None``: the whole answer arrives. Otherwise the error's ``code``, its
    HTTP ``status`` (when it is the response's status), and ``mid_stream`` for failures
    after the first delta."""

    code: str | None = None
    status: int = 200
    retryable: bool | None = None
    mid_stream: bool = False
    primary_requests: int = 1
    secondary_requests: int = 0
    answered_by: Literal["primary", "secondary"] = "primary"
    min_elapsed_s: float = 0.0
    retry_after: str | None = None
    pings: bool = False  # streamed dialects keep the silent connection alive with pings


Script = Callable[[str], tuple[Reply, ...]]


@dataclass(frozen=True)
class Scenario:
    name: str
    script: Script  # the primary's replies, given the key it is sent
    expect: Expect
    fallback: bool = False  # LLMRELAY_FALLBACKS: primary -> secondary
    env: Mapping[str, str] = field(default_factory=dict)
    # The dialects and providers to run it through (default: all). Rows that check a
    # retry, fallback or heartbeat decision, whose terminal shapes other rows already show
    # everywhere, run through fewer, to keep the suite fast.
    dialects: tuple[str, ...] | None = None
    providers: tuple[str, ...] | None = None


def _message(key: str) -> str:
    return f"Incorrect API key provided: {key}. You can find your API key at ..."


def _fail(fault: Fault, times: int = 1, then_ok: bool = True) -> Script:
    def script(key: str) -> tuple[Reply, ...]:
        failing = Reply(fault=replace(fault, message=_message(key)))
        return (failing,) * times + ((Reply(),) if then_ok else ())

    return script


def _status(status: int, retry_after: str | None = None) -> Fault:
    return Fault("status", status=status, retry_after=retry_after)


_SLOW = Fault("slow_first_byte", delay_s=SLOW_S)
_CUT_EARLY = Fault("cut", after_chunks=0)
_GARBLED_EARLY = Fault("malformed", after_chunks=0)
_OVERLOADED_EARLY = Fault("in_stream_error", after_chunks=0)
_STALL = Fault("stall", after_chunks=MID, delay_s=SLOW_S)

_RETRIED = Expect(primary_requests=2)
_BAD_GATEWAY = Expect("upstream_unavailable", 502, True, primary_requests=2)
_MID_TIMEOUT = Expect("upstream_timeout", 504, True, mid_stream=True)
_MID_UNAVAILABLE = Expect("upstream_unavailable", 502, True, mid_stream=True)
_AUTH = Expect("upstream_auth_failed", 502, False)
_BAD_REQUEST = Expect("upstream_bad_request", 400, False)

_POLICY = ("native", "openai_batch")
_POLICY_SLOW = ("native",)  # a row that waits out a timeout: one dialect is enough
_STREAMED = ("native", "openai", "vercel", "responses", "anthropic")
_PINGS = {"LLMRELAY_PING_INTERVAL_MS": "50"}  # well inside the idle timeout

SCENARIOS: tuple[Scenario, ...] = (
    # Before the first byte: retried, and the retry answers.
    Scenario(
        "429_retry_after",
        _fail(_status(429, str(RETRY_AFTER_S))),
        Expect(primary_requests=2, min_elapsed_s=RETRY_AFTER_S),
    ),
    Scenario("500", _fail(_status(500)), _RETRIED),
    Scenario("503", _fail(_status(503)), _RETRIED),
    Scenario("529_overloaded", _fail(_status(529)), _RETRIED),
    Scenario("slow_first_byte", _fail(_SLOW), _RETRIED),
    Scenario(
        "stall_before_text",  # the head and the role chunk came, the first token did not
        _fail(Fault("stall", after_chunks=0, delay_s=SLOW_S)),
        _RETRIED,
        dialects=_POLICY_SLOW,
    ),
    Scenario(
        "slow_first_byte_with_pings",  # pings start the response; the retry answers in it
        _fail(_SLOW),
        Expect(primary_requests=2, pings=True),
        env=_PINGS,
        dialects=_STREAMED,
        providers=("openai",),
    ),
    Scenario("cut_before_text", _fail(_CUT_EARLY), _RETRIED, dialects=_POLICY),
    Scenario("malformed_before_text", _fail(_GARBLED_EARLY), _RETRIED, dialects=_POLICY),
    Scenario("overloaded_before_text", _fail(_OVERLOADED_EARLY), _RETRIED, dialects=_POLICY),
    # Before the first byte, not cured: the dialect's HTTP error.
    Scenario("401_key_echoed", _fail(_status(401), then_ok=False), _AUTH),
    Scenario(
        "429_persistent",
        _fail(_status(429, str(RETRY_AFTER_S)), times=2, then_ok=False),
        Expect("rate_limited", 429, True, primary_requests=2, retry_after="1"),
    ),
    Scenario("400", _fail(_status(400), then_ok=False), _BAD_REQUEST, dialects=_POLICY),
    Scenario(
        "429_long_retry_after",
        _fail(_status(429, LONG_RETRY_AFTER), then_ok=False),
        Expect("rate_limited", 429, True, retry_after=LONG_RETRY_AFTER),
        dialects=_POLICY,
    ),
    Scenario(
        "503_persistent",
        _fail(_status(503), times=2, then_ok=False),
        _BAD_GATEWAY,
        dialects=_POLICY,
    ),
    Scenario(
        "slow_first_byte_no_retry",
        _fail(_SLOW, then_ok=False),
        Expect("upstream_timeout", 504, True),
        env={"LLMRELAY_RETRY_ATTEMPTS": "0"},
        dialects=_POLICY_SLOW,
        providers=("gemini",),
    ),
    # After the first delta: in-band, never retried.
    Scenario("stall_mid", _fail(_STALL, then_ok=False), _MID_TIMEOUT),
    Scenario(
        "stall_mid_with_pings",
        _fail(_STALL, then_ok=False),
        Expect("upstream_timeout", 504, True, mid_stream=True, pings=True),
        env=_PINGS,
        dialects=_STREAMED,
        providers=("anthropic",),
    ),
    Scenario("cut_mid", _fail(Fault("cut", after_chunks=MID), then_ok=False), _MID_UNAVAILABLE),
    Scenario(
        "malformed_mid",
        _fail(Fault("malformed", after_chunks=MID), then_ok=False),
        _MID_UNAVAILABLE,
    ),
    Scenario(
        "overloaded_mid",
        _fail(Fault("in_stream_error", after_chunks=MID), then_ok=False),
        _MID_UNAVAILABLE,
    ),
    # Fallbacks: taken for what another model may survive, before the first byte only.
    Scenario(
        "401_fallback",
        _fail(_status(401), then_ok=False),
        Expect(secondary_requests=1, answered_by="secondary"),
        fallback=True,
    ),
    Scenario(
        "503_fallback",
        _fail(_status(503), times=2, then_ok=False),
        Expect(primary_requests=2, secondary_requests=1, answered_by="secondary"),
        fallback=True,
        dialects=_POLICY,
    ),
    Scenario(
        "400_no_fallback",
        _fail(_status(400), then_ok=False),
        _BAD_REQUEST,
        fallback=True,
        dialects=_POLICY,
    ),
    Scenario(
        "stall_mid_no_fallback",
        _fail(_STALL, then_ok=False),
        _MID_TIMEOUT,
        fallback=True,
        dialects=_POLICY_SLOW,
        providers=("huggingface",),
    ),
)
