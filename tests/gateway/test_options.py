from __future__ import annotations

import pytest

from llmrelay.errors import ConfigurationError
from llmrelay.gateway import GatewayOptions

VALID = [
    pytest.param({}, GatewayOptions(), id="defaults"),
    pytest.param(
        {
            "LLMRELAY_DEADLINE_MARGIN_MS": "500",
            "LLMRELAY_PING_INTERVAL_MS": " 0 ",
            "LLMRELAY_MAX_BODY_BYTES": "1024",
            "LLMRELAY_VERSION": "2025.11",
        },
        GatewayOptions(500, 0, 1024, "2025.11"),
        id="all-set",
    ),
    pytest.param({"LLMRELAY_DEADLINE_MARGIN_MS": ""}, GatewayOptions(), id="empty-is-default"),
]


@pytest.mark.parametrize(("env", "expected"), VALID)
def test_options_come_from_the_environment(env: dict[str, str], expected: GatewayOptions) -> None:
    assert GatewayOptions.from_env(env) == expected


INVALID = [
    pytest.param({"LLMRELAY_DEADLINE_MARGIN_MS": "soon"}, "must be an integer", id="not-a-number"),
    pytest.param({"LLMRELAY_PING_INTERVAL_MS": "-1"}, "must be at least 0", id="negative"),
    pytest.param({"LLMRELAY_MAX_BODY_BYTES": "1.5"}, "must be an integer", id="fraction"),
]


@pytest.mark.parametrize(("env", "message"), INVALID)
def test_a_bad_option_fails_at_start_naming_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        GatewayOptions.from_env(env)
    assert next(iter(env)) in str(caught.value)


def test_documented_defaults_keep_idle_proxies_and_the_deadline_satisfied() -> None:
    options = GatewayOptions.from_env({})
    # A ping every 10 s stays well inside CloudFront's 30 s origin read timeout.
    assert options.ping_interval_ms == 10_000
    # The stream ends with deadline_exceeded well under a second before Lambda's cut.
    assert options.deadline_margin_ms == 300
    # The function URL's own request limit.
    assert options.max_body_bytes == 6 * 1024 * 1024
