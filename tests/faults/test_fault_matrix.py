"""Every scripted upstream failure, for every provider, through every client dialect, ends in
the documented terminal event: an answer (retried or fallen back where that is right), the
dialect's JSON error with a real HTTP status before the first byte, or its in-band error
event after it. Never a silent end, never a hang, never a key in what the client or the
logs see.

The app is the function's own (``observed(build_app())``: every route, client API keys
required, the resilient provider layer, the per-invocation log line and metrics), the SDKs
are the real ones, and the upstreams are the loopback fakes of each provider's wire format
(see :mod:`.scenarios` for the table, :mod:`.dialects` for what each dialect must look
like). Case ids read ``<provider>-<scenario>-<dialect>``.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

import pytest
from tests.gateway.app_client import call
from tests.leakscan import LeakScanner

from llmrelay.testing.anthropic_fake import key_of
from llmrelay.testing.bedrock_fake import credential_of

from .conftest import CLIENT_HEADERS, Upstream, Upstreams, fault_app, settings_for
from .dialects import DIALECTS, Dialect, Observed
from .scenarios import MID, SCENARIOS, SLOW_S, TEXT, TEXT_BEFORE_MID, Expect, Scenario

# One event loop for the module, as a warm Lambda keeps one: the SDK clients and their
# connections outlive each case, so every case also shows that the fault before it left
# nothing behind that breaks the next request.
pytestmark = pytest.mark.asyncio(loop_scope="module")
PROVIDERS = ("openai", "anthropic", "huggingface", "gemini", "bedrock")
# A hang fails the case instead of the run (the slowest case takes well under a second).
CASE_TIMEOUT_S = 10.0


def secondary_of(provider: str) -> str:
    return "openai" if provider == "anthropic" else "anthropic"


@dataclass(frozen=True)
class Case:
    provider: str
    scenario: Scenario
    dialect: Dialect

    @property
    def id(self) -> str:
        return f"{self.provider}-{self.scenario.name}-{self.dialect.name}"


CASES = [
    Case(provider, scenario, dialect)
    for scenario in SCENARIOS
    for provider in PROVIDERS
    for dialect in DIALECTS
    if scenario.dialects is None or dialect.name in scenario.dialects
    if scenario.providers is None or provider in scenario.providers
]


def check_outcome(seen: Observed, expect: Expect, dialect: Dialect, answering: str) -> None:
    assert seen.pings == expect.pings, f"pings: {seen.pings}"
    if expect.code is None:
        assert (seen.status, seen.code, seen.text) == (200, None, TEXT), seen
        assert seen.models
        assert set(seen.models) == {answering}, seen.models
        return
    if expect.mid_stream and dialect.streamed:
        # The status was sent with the first byte: the error travels in-band, after the
        # text that got through, with the usage so far where the dialect carries it.
        assert (seen.status, seen.code, seen.in_band) == (200, expect.code, True), seen
        assert seen.text == TEXT_BEFORE_MID
        assert seen.output_tokens in (None, MID)
    else:
        assert (seen.status, seen.code, seen.in_band) == (expect.status, expect.code, False), seen
        assert seen.text == ""
        assert seen.retry_after == expect.retry_after
    assert seen.retryable in (None, expect.retryable), seen


def check_requests(case: Case, primary: Upstream, secondary: Upstream) -> None:
    expect = case.scenario.expect
    assert len(primary.fake.requests) == expect.primary_requests, primary.fake.requests
    assert len(secondary.fake.requests) == expect.secondary_requests
    # The key really went upstream (and, in every fault, came back in the error message);
    # Bedrock's request is signed by the role's access key id.
    first = primary.fake.requests[0]
    credential = credential_of(first)
    assert (key_of(first) or (credential and credential[0])) == primary.key


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_a_fault_ends_in_the_documented_terminal_event(
    case: Case, upstreams: Upstreams, leak_scan: LeakScanner
) -> None:
    scenario, dialect = case.scenario, case.dialect
    primary, secondary = upstreams[case.provider], upstreams[secondary_of(case.provider)]
    primary.fake.queue(*scenario.script(primary.key))
    env = dict(scenario.env)
    if scenario.fallback:
        env["LLMRELAY_FALLBACKS"] = json.dumps({primary.model: [secondary.model]})
    app = fault_app(settings_for(upstreams, env), env)
    started = time.monotonic()
    async with asyncio.timeout(CASE_TIMEOUT_S):
        response, raw = await call(
            app, "POST", dialect.path, dialect.body(primary.model), headers=CLIENT_HEADERS
        )
    elapsed = time.monotonic() - started
    leak_scan.scan_response(response, raw, case.id)
    seen = dialect.observe(response, raw)
    answering = secondary if scenario.expect.answered_by == "secondary" else primary
    check_outcome(seen, scenario.expect, dialect, answering.model)
    check_requests(case, primary, secondary)
    # A timeout, not the fake's delay, ended every slow or stalled upstream.
    assert scenario.expect.min_elapsed_s <= elapsed < SLOW_S, elapsed
