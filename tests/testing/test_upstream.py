"""The shared fake-upstream base: scripted replies, faults and split network writes, seen
on the wire (raw chunk framing) through a concrete fake."""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterator

import pytest

from llmrelay.testing import FakeOpenAI, Fault, Reply
from llmrelay.testing.openai_fake import chunks_of

BODY = json.dumps({"model": "m", "messages": [], "stream": True}).encode()


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def raw_chunks(fake: FakeOpenAI) -> list[bytes]:
    """The body's chunks exactly as framed on the wire (one per network write)."""
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {len(BODY)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", fake.port), timeout=5) as sock:
        sock.sendall(head + BODY)
        data = b""
        while block := sock.recv(65536):
            data += block
    body = data.partition(b"\r\n\r\n")[2]
    chunks: list[bytes] = []
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return chunks
        chunks.append(body[:size])
        body = body[size + 2 :]


def _decodes(chunk: bytes) -> bool:
    try:
        chunk.decode()
    except UnicodeDecodeError:
        return False
    return True


def test_split_writes_cut_events_inside_a_multi_byte_character(fake: FakeOpenAI) -> None:
    fake.queue(Reply(pieces=("日本", "ü"), split_writes=True))
    chunks = raw_chunks(fake)
    assert not all(_decodes(chunk) for chunk in chunks)  # a write ends mid-character
    firsts, seconds = chunks[::2], chunks[1::2]  # every event goes out in two writes
    assert not any(half.endswith(b"\n\n") for half in firsts)
    assert all(half.endswith(b"\n\n") for half in seconds)
    assert [c["choices"][0]["delta"].get("content") for c in chunks_of(b"".join(chunks))[1:3]] == [
        "日本",
        "ü",
    ]


def test_without_split_writes_each_event_is_one_write(fake: FakeOpenAI) -> None:
    chunks = raw_chunks(fake)
    assert all(chunk.startswith(b"data: ") and chunk.endswith(b"\n\n") for chunk in chunks)


def test_replies_are_used_in_order_then_the_default(fake: FakeOpenAI) -> None:
    fake.queue(Reply(pieces=("first",)), Reply(pieces=("second",)))
    texts = []
    for _ in range(3):
        chunks = chunks_of(b"".join(raw_chunks(fake)))
        texts.append("".join(c["choices"][0]["delta"].get("content") or "" for c in chunks))
    assert texts == ["first", "second", "Hello, world!"]
    assert len(fake.requests) == 3


def test_slow_first_byte_holds_back_the_response_head(fake: FakeOpenAI) -> None:
    fake.queue(Reply(fault=Fault("slow_first_byte", delay_s=0.2)))
    started = time.monotonic()
    raw_chunks(fake)
    assert time.monotonic() - started >= 0.2


def test_cut_drops_the_connection_mid_body(fake: FakeOpenAI) -> None:
    fake.queue(Reply(fault=Fault("cut", after_chunks=1)))
    connection = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    connection.request("POST", "/v1/chat/completions", BODY)
    answer = connection.getresponse()
    assert answer.status == 200
    with pytest.raises((http.client.IncompleteRead, ConnectionError)):
        answer.read()
