"""The access log's pieces: nothing the client sent reaches it raw or leaks a key."""

from __future__ import annotations

import pytest

from llmrelay.local.access_log import NEVER_ANSWERED, log_target, printable, status_text


@pytest.mark.parametrize(
    ("target", "logged"),
    [
        pytest.param("/chat", "/chat", id="plain"),
        pytest.param("", "/", id="empty"),
        pytest.param("/v1/models?api_key=sk-abc&limit=5", "/v1/models?api_key=*&limit=*", id="kv"),
        pytest.param("/chat?sk-proj-0123456789abcdefghij", "/chat?*=*", id="bare-key"),
        pytest.param("/chat?" + "n" * 60 + "=1", "/chat?*=*", id="long-name"),
        pytest.param("/chat?&&", "/chat?*=*", id="no-parameter"),
        pytest.param("/caf\u00e9\x1b[2J\x07", "/caf\\xe9\\x1b[2J\\x07", id="controls"),
    ],
)
def test_the_target_is_logged_without_values_or_raw_controls(target: str, logged: str) -> None:
    assert log_target(target) == logged


def test_a_long_target_is_cut() -> None:
    assert printable("/" + "x" * 1000).endswith("x...")
    assert len(printable("/" + "x" * 1000)) == 303


def test_the_status_says_what_went_out() -> None:
    assert (status_text(200), status_text(200, cut=True)) == ("200", "200 cut")
    assert status_text(None) == NEVER_ANSWERED
