"""AWS's binary event-stream framing (``application/vnd.amazon.eventstream``), written. Pure.

One message is::

    prelude:  total length (uint32) | headers length (uint32) | CRC32 of those 8 bytes
    headers:  per header: name length (uint8) | name | type 7 (string) | value length
              (uint16) | value
    payload:  bytes (here JSON)
    CRC32 of everything before it (uint32)

all big-endian. botocore's reader (``botocore.eventstream.EventStreamBuffer``) checks both
CRCs. The fake Bedrock (:mod:`llmrelay.testing.bedrock_fake`) writes its streams with these
helpers, so that boto3 itself parses what it sends, and so does the Bedrock warm-up
(:mod:`llmrelay.providers.bedrock_warmup`), which streams a canned answer without network.
"""

from __future__ import annotations

import binascii
import json
import struct
from collections.abc import Mapping
from typing import Any

__all__ = ["event_message", "exception_message", "frame", "with_bad_checksum"]

_STRING = 7


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return (
        struct.pack(">B", len(raw_name))
        + raw_name
        + struct.pack(">BH", _STRING, len(raw_value))
        + raw_value
    )


def frame(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One event-stream message with string ``headers`` and ``payload``."""
    raw_headers = b"".join(_header(name, value) for name, value in headers.items())
    total = 12 + len(raw_headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(raw_headers))
    prelude += struct.pack(">I", binascii.crc32(prelude))
    message = prelude + raw_headers + payload
    return message + struct.pack(">I", binascii.crc32(message))


def _json(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def event_message(event_type: str, document: Mapping[str, Any]) -> bytes:
    """An ``event`` message (``messageStart``, ``contentBlockDelta``, ...)."""
    headers = {
        ":event-type": event_type,
        ":content-type": "application/json",
        ":message-type": "event",
    }
    return frame(headers, _json(document))


def exception_message(exception_type: str, document: Mapping[str, Any]) -> bytes:
    """An ``exception`` message: how a service reports a failure once the stream began."""
    headers = {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return frame(headers, _json(document))


def with_bad_checksum(message: bytes) -> bytes:
    """``message`` with its trailing CRC broken (a garbled stream)."""
    crc = struct.unpack(">I", message[-4:])[0]
    return message[:-4] + struct.pack(">I", crc ^ 0xFFFFFFFF)
