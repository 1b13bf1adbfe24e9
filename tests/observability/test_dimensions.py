from __future__ import annotations

import pytest

from llmrelay.observability.dimensions import (
    NONE,
    OTHER,
    UNCONFIRMED,
    ModelDimensions,
    dimension_value,
)

VALUES = [
    pytest.param("openai/gpt-4o-mini", "openai/gpt-4o-mini", id="plain"),
    pytest.param("meta-llama/Llama-3.1 8B", "meta-llama/Llama-3.1_8B", id="space"),
    pytest.param("mod\u00e8le/\u00e9t\u00e9", "mod_le/_t", id="non-ascii"),
    pytest.param("a\nb\tc\x00", "a_b_c", id="control-characters"),
    pytest.param("x" * 300, "x" * 128, id="too-long"),
    pytest.param("   ", NONE, id="blank"),
    pytest.param("", NONE, id="empty"),
    pytest.param(None, NONE, id="missing"),
]


@pytest.mark.parametrize(("raw", "value"), VALUES)
def test_dimension_values_are_short_printable_ascii(raw: str | None, value: str) -> None:
    assert dimension_value(raw) == value


def test_a_model_is_a_dimension_only_once_an_upstream_accepted_it() -> None:
    models = ModelDimensions()
    assert models.value("openai/made-up", confirmed=False) == UNCONFIRMED
    assert models.value("openai/gpt-4o", confirmed=True) == "openai/gpt-4o"
    # Once seen, a model keeps its value even when a later call fails before any text.
    assert models.value("openai/gpt-4o", confirmed=False) == "openai/gpt-4o"
    assert models.value(None, confirmed=True) == NONE


def test_each_process_keeps_a_bounded_number_of_models() -> None:
    models = ModelDimensions(limit=2)
    assert [models.value(f"echo/m{i}", confirmed=True) for i in range(4)] == [
        "echo/m0",
        "echo/m1",
        OTHER,
        OTHER,
    ]
    assert models.value("echo/m1", confirmed=True) == "echo/m1"
