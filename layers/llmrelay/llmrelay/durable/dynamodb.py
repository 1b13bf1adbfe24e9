"""The durable store on one DynamoDB table (``pk`` and ``sk`` strings, TTL on ``expires_at``).

Items (all expire ``retention_s`` after their last write; threads ``thread_retention_s``):

- ``stream#<id>`` / ``head``: owner, dialect, created, deadline, status, stop, chunks
- ``stream#<id>`` / ``chunk#<number, 10 digits>``: ``data`` (bytes), ``ends`` (JSON), ``last``
- ``thread#<owner digest>#<thread id>`` / ``turn#<number, 6 digits>#<part, 3 digits>``: the
  turn's JSON in parts of at most :data:`TURN_PART_BYTES` (part 0 says how many)
- ``thread#…`` / ``active``: the thread's latest stream id

boto3 blocks, so every call runs in a small thread pool of the store's own, with boto3
connect and read timeouts, two attempts, and a bound on the wait itself: a stalled DynamoDB
costs a caller at most ``call_timeout_s``, never the event loop. boto3 honours
``AWS_ENDPOINT_URL_DYNAMODB`` (``make dev`` points it at a moto server).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final, TypeVar

from llmrelay.durable.records import Chunk, StreamHead, StreamStatus, ThreadKey
from llmrelay.durable.store import StoreUnavailable

__all__ = ["TURN_PART_BYTES", "DynamoStore"]

T = TypeVar("T")
Item = dict[str, Any]

TURN_PART_BYTES: Final = 300_000
_CONNECT_TIMEOUT_S: Final = 1.0
_READ_TIMEOUT_S: Final = 2.0
_LAST_CHUNK: Final = "chunk#9999999999"


def _chunk_sk(number: int) -> str:
    return f"chunk#{number:010d}"


def _turn_sk(number: int, part: int) -> str:
    return f"turn#{number:06d}#{part:03d}"


def _stream_pk(stream_id: str) -> str:
    return f"stream#{stream_id}"


def _thread_pk(thread: ThreadKey) -> str:
    return f"thread#{thread.key}"


def _head_of(item: Item) -> StreamHead:
    return StreamHead(
        stream_id=item["pk"]["S"].removeprefix("stream#"),
        owner=item["owner"]["S"],
        dialect=item["dialect"]["S"],
        created_ms=int(item["created"]["N"]),
        deadline_ms=int(item["deadline"]["N"]),
        status=item["status"]["S"],
        stop=bool(item.get("stop", {}).get("BOOL", False)),
        chunks=int(item.get("chunks", {}).get("N", "0")),
    )


def _chunk_of(item: Item) -> Chunk:
    ends = tuple((int(seq), int(end)) for seq, end in json.loads(item["ends"]["S"]))
    number = int(item["sk"]["S"].removeprefix("chunk#"))
    return Chunk(number, bytes(item["data"]["B"]), ends, bool(item["last"]["BOOL"]))


def _parts(turn: bytes) -> Iterator[bytes]:
    for start in range(0, max(len(turn), 1), TURN_PART_BYTES):
        yield turn[start : start + TURN_PART_BYTES]


class DynamoStore:
    """A :class:`~llmrelay.durable.store.DurableStore` on ``table`` (see the module's doc).
    ``client`` replaces the boto3 client made on first use (tests)."""

    def __init__(
        self,
        table: str,
        *,
        retention_s: int = 3600,
        thread_retention_s: int = 30 * 86400,
        call_timeout_s: float = 5.0,
        client: Any = None,
    ) -> None:
        self.table = table
        self.retention_s = retention_s
        self.thread_retention_s = thread_retention_s
        self.call_timeout_s = call_timeout_s
        self._client = client
        self._pool = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="llmrelay-ddb")
        self.requests = 0  # calls made to DynamoDB (the bench's figures)

    # -- plumbing ------------------------------------------------------------------------------

    def _boto(self) -> Any:
        if self._client is None:
            import boto3  # type: ignore[import-untyped]
            from botocore.config import Config  # type: ignore[import-untyped]

            retries: Any = {"total_max_attempts": 2, "mode": "standard"}
            config = Config(
                connect_timeout=_CONNECT_TIMEOUT_S, read_timeout=_READ_TIMEOUT_S, retries=retries
            )
            self._client = boto3.client("dynamodb", config=config)
        return self._client

    async def _run(self, what: str, call: Callable[[Any], T]) -> T:
        def work() -> T:
            self.requests += 1
            return call(self._boto())

        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool, work)
        try:
            return await asyncio.wait_for(future, self.call_timeout_s)
        except TimeoutError:
            raise StoreUnavailable(f"DynamoDB did not answer ({what}) in time") from None
        except StoreUnavailable:
            raise
        except Exception as exc:  # botocore's errors: throttling, no table, no network
            raise StoreUnavailable(f"DynamoDB refused {what}: {type(exc).__name__}") from exc

    def _put(self, item: Item) -> Callable[[Any], object]:
        return lambda client: client.put_item(TableName=self.table, Item=item)

    def _expires(self, seconds: int) -> dict[str, str]:
        return {"N": str(int(time.time()) + seconds)}

    def _conditional_failed(self, exc: Exception) -> bool:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        return bool(code == "ConditionalCheckFailedException")

    # -- streams -------------------------------------------------------------------------------

    async def put_head(self, head: StreamHead) -> None:
        item: Item = {
            "pk": {"S": _stream_pk(head.stream_id)},
            "sk": {"S": "head"},
            "owner": {"S": head.owner},
            "dialect": {"S": head.dialect},
            "created": {"N": str(head.created_ms)},
            "deadline": {"N": str(head.deadline_ms)},
            "status": {"S": head.status},
            "stop": {"BOOL": head.stop},
            "chunks": {"N": str(head.chunks)},
            "expires_at": self._expires(self.retention_s),
        }
        await self._run(
            "a stream head write", lambda c: c.put_item(TableName=self.table, Item=item)
        )

    async def get_head(self, stream_id: str) -> StreamHead | None:
        key = {"pk": {"S": _stream_pk(stream_id)}, "sk": {"S": "head"}}
        answer = await self._run(
            "a stream head read",
            lambda c: c.get_item(TableName=self.table, Key=key, ConsistentRead=True),
        )
        item = answer.get("Item")
        return None if item is None else _head_of(item)

    async def put_chunks(self, stream_id: str, chunks: Sequence[Chunk]) -> None:
        for chunk in chunks:  # in order: a reader never sees chunk n+1 without chunk n
            item: Item = {
                "pk": {"S": _stream_pk(stream_id)},
                "sk": {"S": _chunk_sk(chunk.number)},
                "data": {"B": chunk.data},
                "ends": {"S": json.dumps([list(end) for end in chunk.ends])},
                "last": {"BOOL": chunk.last},
                "expires_at": self._expires(self.retention_s),
            }
            await self._run("a stream chunk write", self._put(item))

    async def get_chunks(self, stream_id: str, start: int = 0) -> list[Chunk]:
        values = {
            ":pk": {"S": _stream_pk(stream_id)},
            ":from": {"S": _chunk_sk(start)},
            ":to": {"S": _LAST_CHUNK},
        }
        items = await self._query(
            "a stream chunk read", "pk = :pk AND sk BETWEEN :from AND :to", values
        )
        return [_chunk_of(item) for item in items]

    async def _query(self, what: str, condition: str, values: Item, **extra: Any) -> list[Item]:
        def query(client: Any) -> list[Item]:
            items: list[Item] = []
            more: dict[str, Any] = {}
            while True:
                answer = client.query(
                    TableName=self.table,
                    KeyConditionExpression=condition,
                    ExpressionAttributeValues=values,
                    ConsistentRead=True,
                    **extra,
                    **more,
                )
                items.extend(answer.get("Items", []))
                last = answer.get("LastEvaluatedKey")
                if not last:
                    return items
                more = {"ExclusiveStartKey": last}

        return await self._run(what, query)

    async def request_stop(self, stream_id: str, owner: str) -> StreamHead | None:
        key = {"pk": {"S": _stream_pk(stream_id)}, "sk": {"S": "head"}}

        def stop(client: Any) -> StreamHead | None:
            try:
                answer = client.update_item(
                    TableName=self.table,
                    Key=key,
                    UpdateExpression="SET #stop = :yes",
                    ConditionExpression="#owner = :owner AND #status = :running",
                    ExpressionAttributeNames={
                        "#stop": "stop",
                        "#owner": "owner",
                        "#status": "status",
                    },
                    ExpressionAttributeValues={
                        ":yes": {"BOOL": True},
                        ":owner": {"S": owner},
                        ":running": {"S": "running"},
                    },
                    ReturnValues="ALL_NEW",
                )
            except Exception as exc:
                if self._conditional_failed(exc):
                    return None
                raise
            return _head_of(answer["Attributes"])

        flagged = await self._run("a stop request", stop)
        if flagged is not None:
            return flagged
        head = await self.get_head(stream_id)  # not running, or not this owner's
        return head if head is not None and head.owner == owner else None

    async def stop_requested(self, stream_id: str) -> bool:
        key = {"pk": {"S": _stream_pk(stream_id)}, "sk": {"S": "head"}}
        answer = await self._run(
            "a stop check",
            lambda c: c.get_item(
                TableName=self.table,
                Key=key,
                ConsistentRead=True,
                ProjectionExpression="#stop",
                ExpressionAttributeNames={"#stop": "stop"},
            ),
        )
        return bool(answer.get("Item", {}).get("stop", {}).get("BOOL", False))

    async def end_stream(self, stream_id: str, status: StreamStatus, chunks: int) -> None:
        key = {"pk": {"S": _stream_pk(stream_id)}, "sk": {"S": "head"}}
        await self._run(
            "a stream end write",
            lambda c: c.update_item(
                TableName=self.table,
                Key=key,
                UpdateExpression="SET #status = :status, chunks = :chunks, expires_at = :expires",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":status": {"S": status},
                    ":chunks": {"N": str(chunks)},
                    ":expires": self._expires(self.retention_s),
                },
            ),
        )

    # -- threads -------------------------------------------------------------------------------

    async def get_turns(self, thread: ThreadKey) -> list[bytes]:
        values = {":pk": {"S": _thread_pk(thread)}, ":turn": {"S": "turn#"}}
        items = await self._query("a thread read", "pk = :pk AND begins_with(sk, :turn)", values)
        turns: dict[int, list[tuple[int, bytes]]] = {}
        wanted: dict[int, int] = {}
        for item in items:
            _, number, part = item["sk"]["S"].split("#")
            turns.setdefault(int(number), []).append((int(part), bytes(item["data"]["B"])))
            if "parts" in item:
                wanted[int(number)] = int(item["parts"]["N"])
        whole: list[bytes] = []
        for number in sorted(turns):
            parts = sorted(turns[number])
            if len(parts) == wanted.get(number, -1):  # a turn half-written is left out
                whole.append(b"".join(data for _, data in parts))
        return whole

    async def add_turn(self, thread: ThreadKey, number: int, turn: bytes) -> bool:
        pk = {"S": _thread_pk(thread)}
        parts = list(_parts(turn))
        expires = self._expires(self.thread_retention_s)

        def put(client: Any) -> bool:
            for index, data in enumerate(parts):
                item: Item = {
                    "pk": pk,
                    "sk": {"S": _turn_sk(number, index)},
                    "data": {"B": data},
                    "expires_at": expires,
                }
                if index == 0:
                    item["parts"] = {"N": str(len(parts))}
                    try:
                        client.put_item(
                            TableName=self.table,
                            Item=item,
                            ConditionExpression="attribute_not_exists(pk)",
                        )
                    except Exception as exc:
                        if self._conditional_failed(exc):
                            return False
                        raise
                else:
                    client.put_item(TableName=self.table, Item=item)
            return True

        return await self._run("a thread write", put)

    async def delete_thread(self, thread: ThreadKey) -> int:
        values = {":pk": {"S": _thread_pk(thread)}}
        items = await self._query(
            "a thread read", "pk = :pk", values, ProjectionExpression="pk, sk"
        )

        def delete(client: Any) -> None:
            for start in range(0, len(items), 25):
                batch = [{"DeleteRequest": {"Key": key}} for key in items[start : start + 25]]
                pending: Any = {self.table: batch}
                for _ in range(5):  # unprocessed items come back under load
                    answer = client.batch_write_item(RequestItems=pending)
                    pending = answer.get("UnprocessedItems") or {}
                    if not pending:
                        break

        await self._run("a thread delete", delete)
        return len({item["sk"]["S"].split("#")[1] for item in items if item["sk"]["S"] != "active"})

    async def set_active(self, thread: ThreadKey, stream_id: str) -> None:
        item: Item = {
            "pk": {"S": _thread_pk(thread)},
            "sk": {"S": "active"},
            "stream": {"S": stream_id},
            "expires_at": self._expires(self.retention_s),
        }
        await self._run("a thread write", self._put(item))

    async def get_active(self, thread: ThreadKey) -> str | None:
        key = {"pk": {"S": _thread_pk(thread)}, "sk": {"S": "active"}}
        answer = await self._run(
            "a thread read",
            lambda c: c.get_item(TableName=self.table, Key=key, ConsistentRead=True),
        )
        item = answer.get("Item")
        return None if item is None else str(item["stream"]["S"])
