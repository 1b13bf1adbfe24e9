"""The store contract, met by the in-memory store and by DynamoDB (moto)."""

from __future__ import annotations

from dataclasses import replace

from llmrelay.durable import Chunk, ChunkPacker, DurableStore, StreamHead, ThreadKey

HEAD = StreamHead("s1", "key:alice", "native", created_ms=1_000, deadline_ms=61_000)


async def test_a_head_is_stored_and_read_back(store: DurableStore) -> None:
    assert await store.get_head("s1") is None
    await store.put_head(HEAD)
    assert await store.get_head("s1") == HEAD
    await store.end_stream("s1", "done", 3)
    assert await store.get_head("s1") == replace(HEAD, status="done", chunks=3)


async def test_chunks_come_back_in_order_from_any_number(store: DurableStore) -> None:
    packer = ChunkPacker(4)
    for seq in range(5):
        packer.add(seq, f"f{seq}\n\n".encode())
    chunks = packer.pack(last=True)
    await store.put_chunks("s1", chunks[:3])
    await store.put_chunks("s1", chunks[3:])
    await store.put_chunks("s1", chunks[3:4])  # a retried write changes nothing
    assert await store.get_chunks("s1") == chunks
    assert await store.get_chunks("s1", 4) == chunks[4:]
    assert await store.get_chunks("s1", len(chunks)) == []
    assert await store.get_chunks("other") == []


async def test_binary_frames_survive_byte_exact(store: DurableStore) -> None:
    chunk = Chunk(0, "data: é\u2028\x00 ünï\n\n".encode() + bytes(range(256)), ((0, 10),), True)
    await store.put_chunks("s1", [chunk])
    assert await store.get_chunks("s1") == [chunk]


async def test_only_the_owner_can_stop_a_running_stream(store: DurableStore) -> None:
    await store.put_head(HEAD)
    assert await store.stop_requested("s1") is False
    assert await store.request_stop("s1", "key:mallory") is None
    assert await store.stop_requested("s1") is False
    stopped = await store.request_stop("s1", "key:alice")
    assert stopped == replace(HEAD, stop=True)
    assert await store.stop_requested("s1") is True
    assert await store.request_stop("nope", "key:alice") is None
    assert await store.stop_requested("nope") is False


async def test_a_stop_for_an_ended_stream_leaves_it_as_it_ended(store: DurableStore) -> None:
    await store.put_head(HEAD)
    await store.end_stream("s1", "done", 1)
    head = await store.request_stop("s1", "key:alice")
    assert head == replace(HEAD, status="done", chunks=1)
    assert await store.stop_requested("s1") is False


async def test_turns_belong_to_their_owner_and_keep_their_order(store: DurableStore) -> None:
    alice, mallory = ThreadKey("key:alice", "t1"), ThreadKey("key:mallory", "t1")
    assert await store.get_turns(alice) == []
    assert await store.add_turn(alice, 0, b'{"n": 0}')
    assert await store.add_turn(alice, 1, b'{"n": 1}')
    assert not await store.add_turn(alice, 1, b'{"n": "again"}')  # a number is taken once
    assert await store.get_turns(alice) == [b'{"n": 0}', b'{"n": 1}']
    assert await store.get_turns(mallory) == []
    assert await store.delete_thread(mallory) == 0
    assert await store.delete_thread(alice) == 2
    assert await store.get_turns(alice) == []


async def test_a_turn_bigger_than_an_item_is_split_and_joined(store: DurableStore) -> None:
    thread = ThreadKey("", "big")
    turn = b"x" * 700_001
    assert await store.add_turn(thread, 0, turn)
    assert await store.get_turns(thread) == [turn]
    assert await store.delete_thread(thread) == 1


async def test_the_active_stream_of_a_thread(store: DurableStore) -> None:
    thread = ThreadKey("", "chat-1")
    assert await store.get_active(thread) is None
    await store.set_active(thread, "s1")
    await store.set_active(thread, "s2")
    assert await store.get_active(thread) == "s2"
    assert await store.get_active(ThreadKey("key:other", "chat-1")) is None
    await store.delete_thread(thread)
    assert await store.get_active(thread) is None
