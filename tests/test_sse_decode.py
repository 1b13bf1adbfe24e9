"""The SSE data decoder: events split anywhere across reads, every line ending, comments,
other fields and multi-line data, as the WHATWG format defines them."""

from __future__ import annotations

import pytest

from llmrelay.sse import encode_event
from llmrelay.sse_decode import SseDataDecoder

STREAM = (
    b'data: {"a":1}\r\n\r\n'  # CR LF
    b": a comment\n\n"  # dispatches nothing
    b"event: named\nid: 7\ndata: one\ndata:two\n\n"  # joined with LF; no space after ":"
    b"data: cr only\r\r"  # CR alone
    b"retry: 10\n\n"  # no data: nothing
    b"data: [DONE]\n\n"
)
EXPECTED = [b'{"a":1}', b"one\ntwo", b"cr only", b"[DONE]"]


def _decode(stream: bytes, size: int) -> list[bytes]:
    decoder = SseDataDecoder()
    out: list[bytes] = []
    for start in range(0, len(stream), size):
        out += decoder.feed(stream[start : start + size])
    return out


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, len(STREAM)], ids=lambda n: f"reads-of-{n}")
def test_events_come_out_whole_however_the_reads_split_them(size: int) -> None:
    assert _decode(STREAM, size) == EXPECTED


def test_an_event_still_open_at_the_end_is_not_dispatched() -> None:
    assert _decode(b"data: complete\n\ndata: cut short\n", 4) == [b"complete"]


def test_what_the_encoder_frames_the_decoder_reads_back() -> None:
    frames = encode_event('{"text": "two\\nlines"}', event="delta") + encode_event("a\nb\r\nc")
    assert _decode(frames, 3) == [b'{"text": "two\\nlines"}', b"a\nb\nc"]
