"""The native dialect's per-chunk frame is built from parts made once: it must stay the very
bytes the general SSE encoder would write, for any text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.protocols.sse_reader import read_json_events

from llmrelay.protocols.base import json_text
from llmrelay.protocols.native import delta_event
from llmrelay.sse import encode_event


@settings(max_examples=300)
@given(st.text())  # lone surrogates, line breaks, NUL, U+2028 and the rest included
def test_a_delta_frame_is_what_the_sse_encoder_writes(text: str) -> None:
    assert delta_event(text) == encode_event(json_text({"text": text}), event="delta")


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1))
def test_a_client_reads_the_text_back(text: str) -> None:
    assert read_json_events(delta_event(text)) == [("delta", {"text": text})]
