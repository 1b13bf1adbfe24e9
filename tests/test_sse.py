from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.protocols.sse_reader import read_sse

from llmrelay.sse import PING, comment, encode_event

FRAMES = [
    pytest.param({"data": "hi"}, b"data: hi\n\n", id="data-only"),
    pytest.param({"data": "hi", "event": "delta"}, b"event: delta\ndata: hi\n\n", id="named"),
    pytest.param({"data": "a\nb"}, b"data: a\ndata: b\n\n", id="lf-splits-data"),
    pytest.param({"data": "a\r\nb\rc"}, b"data: a\ndata: b\ndata: c\n\n", id="crlf-and-cr-split"),
    pytest.param({"data": "a\n"}, b"data: a\ndata:\n\n", id="trailing-newline-kept"),
    pytest.param({"data": ""}, b"data:\n\n", id="empty-data-line"),
    pytest.param({"data": " lead"}, b"data:  lead\n\n", id="leading-space-kept"),
    pytest.param({"event": "e\r\nv", "data": "x"}, b"event: ev\ndata: x\n\n", id="event-crlf-out"),
    pytest.param({"id": "4\n2\x00", "data": "x"}, b"id: 42\ndata: x\n\n", id="id-crlf-nul-out"),
    pytest.param({"retry": 3000}, b"retry: 3000\n\n", id="retry-only"),
    pytest.param({"data": "caf\u00e9"}, "data: caf\u00e9\n\n".encode(), id="utf-8"),
    pytest.param({"data": "\ud800"}, b"data: ?\n\n", id="lone-surrogate-replaced"),
]


@pytest.mark.parametrize(("fields", "expected"), FRAMES)
def test_encode_event_writes_the_exact_frame(fields: dict[str, object], expected: bytes) -> None:
    assert encode_event(**fields) == expected  # type: ignore[arg-type]


ROUND_TRIPS = [
    pytest.param("a\nb\nc", "a\nb\nc", id="multi-line"),
    pytest.param("a\r\nb", "a\nb", id="crlf-becomes-lf"),
    pytest.param("  two spaces", "  two spaces", id="leading-spaces"),
    pytest.param(
        "x\u2028y\x0bz\x1c\x85", "x\u2028y\x0bz\x1c\x85", id="unicode-breaks-are-not-lines"
    ),
    pytest.param("data: inside", "data: inside", id="field-like-text"),
    pytest.param(": not a comment", ": not a comment", id="comment-like-text"),
    pytest.param("", "", id="empty"),
]


@pytest.mark.parametrize(("data", "decoded"), ROUND_TRIPS)
def test_a_client_reads_back_the_data_it_was_sent(data: str, decoded: str) -> None:
    [event] = read_sse(encode_event(data, event="message", id="7"))
    assert (event.event, event.data, event.id) == ("message", decoded, "7")


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    data=st.text(),
    event=st.text(st.characters(blacklist_characters="\r\n"), min_size=1),
    id_=st.text(st.characters(blacklist_characters="\r\n\x00")),
)
def test_any_text_round_trips_through_a_spec_following_client(
    data: str, event: str, id_: str
) -> None:
    frame = encode_event(data, event=event, id=id_)
    assert frame.endswith(b"\n\n")
    [decoded] = read_sse(frame)
    assert decoded.data == data.replace("\r\n", "\n").replace("\r", "\n")
    assert decoded.event == event
    assert decoded.id == id_


def test_frames_read_byte_by_byte_give_the_same_events() -> None:
    frames = encode_event("h\u00e9llo\nw\u00f6rld", event="delta") + PING + encode_event("{}")
    whole = read_sse(frames)
    trickled = read_sse(frames[i : i + 1] for i in range(len(frames)))
    assert [(e.event, e.data) for e in trickled] == [(e.event, e.data) for e in whole]
    assert [(e.event, e.data) for e in whole] == [
        ("delta", "h\u00e9llo\nw\u00f6rld"),
        ("message", "{}"),
    ]


def test_an_event_without_its_blank_line_is_not_dispatched() -> None:
    assert read_sse(encode_event("x")[:-1]) == []


COMMENTS = [
    pytest.param("ping", b": ping\n\n", id="ping"),
    pytest.param("", b":\n\n", id="empty"),
    pytest.param("two\nlines", b": two\n: lines\n\n", id="multi-line"),
]


@pytest.mark.parametrize(("text", "expected"), COMMENTS)
def test_comments_are_one_colon_line_per_line(text: str, expected: bytes) -> None:
    assert comment(text) == expected


def test_ping_is_a_comment_that_clients_ignore() -> None:
    assert comment("ping") == PING
    assert read_sse(PING + PING) == []
    [event] = read_sse(PING + encode_event("x", event="delta") + PING)
    assert (event.event, event.data) == ("delta", "x")


def test_a_negative_retry_is_refused() -> None:
    with pytest.raises(ValueError, match="retry"):
        encode_event(retry=-1)
