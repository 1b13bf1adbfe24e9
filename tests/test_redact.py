from __future__ import annotations

import pytest

from llmrelay.redact import redact, register_secret

MASK = "[redacted]"

SHAPES = [
    pytest.param("sk-AbCdEf0123456789AbCdEf0123456789", id="openai-legacy"),
    pytest.param("sk-proj-Ab_Cd-Ef0123456789xyzXYZ", id="openai-project"),
    pytest.param("sk-ant-api03-Ab_Cd-Ef0123456789xyz-AA", id="anthropic"),
    pytest.param("hf_AbCdEfGhIjKlMnOpQrStUv", id="huggingface"),
    pytest.param("gsk_AbCdEfGhIjKlMnOpQrStUv", id="groq"),
    pytest.param("AIzaSyAbCdEfGhIjKlMnOpQrStUvWx", id="gemini"),
    pytest.param("ASIAIOSFODNN7EXAMPLE", id="aws-access-key-id"),
]


@pytest.mark.parametrize("key", SHAPES)
def test_key_shapes_are_masked_wherever_they_appear(key: str) -> None:
    text = f'{{"error": {{"message": "Incorrect API key provided: {key}."}}}}'
    assert redact(text) == f'{{"error": {{"message": "Incorrect API key provided: {MASK}."}}}}'


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_bearer_credentials_are_masked_in_any_case(scheme: str) -> None:
    assert redact(f"Authorization: {scheme} abc.DEF-123_456") == f"Authorization: {MASK}"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("The task-force met at sk-8.", id="short-sk"),
        pytest.param("hf_short and gsk_tiny", id="short-prefixes"),
        pytest.param("risk-assessment-document disk-quota-exceeded", id="sk-inside-words"),
        pytest.param("Bearer of good news", id="bearer-short-word"),
        pytest.param("Échelle: 42 € — ok", id="unicode"),
        pytest.param("", id="empty"),
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact(text) == text


def test_registered_values_are_masked_verbatim_even_without_a_key_shape() -> None:
    register_secret(["corp-gateway-token-5521"])
    assert redact("auth corp-gateway-token-5521 failed") == f"auth {MASK} failed"


def test_values_shorter_than_four_characters_are_not_registered() -> None:
    register_secret(["abc"])
    assert redact("abc abcdef") == "abc abcdef"


def test_a_longer_value_is_masked_whole_when_it_contains_a_shorter_one() -> None:
    register_secret(["tok-3377", "tok-3377-extended"])
    assert redact("x tok-3377-extended y") == f"x {MASK} y"


def test_extra_values_are_masked_for_one_call_only() -> None:
    assert redact("per-call-value-19 here", extra=["per-call-value-19"]) == f"{MASK} here"
    assert redact("per-call-value-19 here") == "per-call-value-19 here"


def test_redacting_twice_changes_nothing_more() -> None:
    once = redact("key sk-ant-api03-AbCdEf0123456789 and Bearer abcdefgh12345678")
    assert redact(once) == once
    assert once.count(MASK) == 2
