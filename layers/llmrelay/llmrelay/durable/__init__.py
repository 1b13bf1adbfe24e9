"""Durable streams and threads: an answer's frames kept in a store while it is generated, so
that any instance can replay and follow it, stop it, and carry a conversation on.

:class:`DurableStore` is the storage contract; :class:`DynamoStore` keeps it in DynamoDB,
:class:`MemoryStore` in this process.
"""

from llmrelay.durable.chunks import ChunkPacker, FrameReader, Gap
from llmrelay.durable.dynamodb import DynamoStore
from llmrelay.durable.records import Chunk, StreamHead, StreamStatus, ThreadKey
from llmrelay.durable.store import DurableStore, MemoryStore, StoreUnavailable

__all__ = [
    "Chunk",
    "ChunkPacker",
    "DurableStore",
    "DynamoStore",
    "FrameReader",
    "Gap",
    "MemoryStore",
    "StoreUnavailable",
    "StreamHead",
    "StreamStatus",
    "ThreadKey",
]
