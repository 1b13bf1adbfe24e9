"""AWS event-stream framing, written here and read back by botocore's own reader."""

from __future__ import annotations

import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer  # type: ignore[import-untyped]

from llmrelay.eventstream import event_message, exception_message, frame, with_bad_checksum


def read(data: bytes) -> list[tuple[dict[str, object], bytes]]:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return [(message.headers, message.payload) for message in buffer]


def test_an_event_reads_back_with_its_headers_and_payload() -> None:
    message = event_message("contentBlockDelta", {"delta": {"text": "Grüße 日本"}})
    [(headers, payload)] = read(message)
    assert headers == {
        ":event-type": "contentBlockDelta",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    assert payload.decode() == '{"delta":{"text":"Grüße 日本"}}'


def test_an_exception_names_its_type() -> None:
    [(headers, _)] = read(exception_message("throttlingException", {"message": "slow down"}))
    assert headers[":message-type"] == "exception"
    assert headers[":exception-type"] == "throttlingException"


@pytest.mark.parametrize("cut", [1, 7, 12, 20, -5, -1])
def test_messages_split_anywhere_reassemble(cut: int) -> None:
    data = frame({":a": "b"}, b"one") + frame({}, b"two")
    buffer = EventStreamBuffer()
    buffer.add_data(data[:cut])
    early = [message.payload for message in buffer]
    buffer.add_data(data[cut:])
    assert early + [message.payload for message in buffer] == [b"one", b"two"]


def test_a_broken_checksum_is_refused() -> None:
    with pytest.raises(ChecksumMismatch):
        read(with_bad_checksum(frame({}, b"payload")))
