"""The leak scanner finds a secret however it was written out, and nothing else."""

from __future__ import annotations

import base64
import logging
import sys
import urllib.parse

import pytest
from tests.leakscan import CANARY_CLIENT_KEY, CANARY_SECRETS, LeakScanner, canary_scanner

from llmrelay.http import HttpResponse

KEY = CANARY_SECRETS["COMPAT_API_KEY"]


def found(text: str | bytes) -> list[str]:
    scanner = canary_scanner()
    scanner.scan(text, "test")
    return [leak.form for leak in scanner.leaks]


@pytest.mark.parametrize(
    ("text", "form"),
    [
        pytest.param(f"error: bad key {KEY}.", "whole", id="whole"),
        pytest.param(f"key={KEY[:20]}...", "piece", id="cut-short"),
        pytest.param(f"key=...{KEY[-17:]}", "piece", id="tail"),
        pytest.param(urllib.parse.quote(f"k={KEY}/é"), "whole", id="percent-of-plain"),
        pytest.param(base64.b64encode(KEY.encode()).decode(), "base64", id="base64"),
        pytest.param(base64.b64encode(b"x" + KEY.encode()).decode(), "base64", id="base64-off-1"),
        pytest.param(base64.b64encode(b"xy" + KEY.encode()).decode(), "base64", id="base64-off-2"),
        pytest.param(
            base64.urlsafe_b64encode(b'{"k": "' + KEY.encode() + b'"}').decode(),
            "base64",
            id="urlsafe-in-json",
        ),
        pytest.param(f"{KEY}".encode(), "whole", id="bytes"),
    ],
)
def test_a_secret_is_found_in_any_form(text: str | bytes, form: str) -> None:
    assert found(text) == [form]


def test_a_percent_encoded_secret_is_found() -> None:
    key = "canary/with+specials=and more chars"
    scanner = LeakScanner({"K": key})
    scanner.scan(urllib.parse.quote(key, safe=""), "test")
    assert [leak.form for leak in scanner.leaks] == ["percent-encoded"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        '{"error": {"code": "unauthorized", "message": "the API key is not valid"}}',
        "[redacted] CANARY canary- sk-proj- llmr-",
        CANARY_CLIENT_KEY[:15],
    ],
)
def test_ordinary_text_is_clean(text: str) -> None:
    assert found(text) == []


def test_a_response_is_scanned_in_its_headers_and_body() -> None:
    scanner = canary_scanner()
    response = HttpResponse(401, {"www-authenticate": f"Bearer {CANARY_CLIENT_KEY}"})
    scanner.scan_response(response, b"{}", "/chat")
    assert [leak.where for leak in scanner.leaks] == ["/chat (headers)"]
    with pytest.raises(AssertionError, match="CLIENT_KEY"):
        scanner.assert_clean()


def test_log_records_are_scanned_with_their_tracebacks() -> None:
    try:
        raise RuntimeError(f"upstream said {KEY}")
    except RuntimeError:
        info = sys.exc_info()
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, info)
    scanner = canary_scanner()
    scanner.scan_records([record])
    assert [leak.value_name for leak in scanner.leaks] == ["COMPAT_API_KEY"]
