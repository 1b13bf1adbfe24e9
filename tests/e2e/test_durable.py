"""Durable streams through ``make dev``'s emulator, with real worker processes and DynamoDB on
the moto server it starts: a dropped connection resumed on another worker while the first is
still generating, replay after the end, a browser-style ``EventSource`` reconnection, stop
(the upstream sees its connection closed), a thread over three requests, another key's
404s, twenty abandoned streams resumed at once, and the `ai` package's own resume."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.e2e.emulator import Emulator, running_emulator
from tests.e2e.tools import missing
from tests.local.sse_client import worker_of
from tests.protocols.sse_reader import read_sse

from llmrelay.gateway.auth import hash_key
from llmrelay.testing import FakeOpenAI, Reply

pytestmark = pytest.mark.e2e

WORDS = " ".join(f"word{n}" for n in range(60))  # 2.4 s at 40 ms a word
ALICE, BOB = "llmr-e2e-alice-0123456789abcdef", "llmr-e2e-bob-0123456789abcdefgh"


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="module")
def durable(tmp_path_factory: pytest.TempPathFactory, upstream: FakeOpenAI) -> Iterator[Emulator]:
    """Slow echo (40 ms a word), client keys on, the fake OpenAI as the ``compat`` provider."""
    folder = tmp_path_factory.mktemp("durable")
    keys = folder / "keys.json"
    hashes = json.dumps([hash_key(ALICE), hash_key(BOB)])
    keys.write_text(json.dumps({"CLIENT_API_KEY_HASHES": hashes}), encoding="utf-8")
    env = {
        "LLMRELAY_ECHO_DELAY_MS": "40",
        "LLMRELAY_AUTH": "api_key",
        "LLMRELAY_COMPAT_BASE_URL": f"{upstream.url}/v1",
        "LLMRELAY_DEV_CONCURRENCY": "48",
        "LLMRELAY_DEV_TIMEOUT": "30",
        # Twenty workers cold-starting at once on a small machine: generous AWS waits.
        "LLMRELAY_SECRET_TIMEOUT_MS": "20000",
        "LLMRELAY_DURABLE_TIMEOUT_MS": "10000",
    }
    with running_emulator(folder / "dev.log", env, ["--secrets-file", str(keys)]) as running:
        with httpx.Client(timeout=30) as client, ThreadPoolExecutor(4) as pool:
            # Warm workers, so that the tests' timings are the streams', not cold starts'.
            list(pool.map(lambda _: client.post(f"{running.url}/chat", json=ask("hi"),
                                                 headers=key()), range(4)))  # fmt: skip
        yield running


def key(who: str = ALICE) -> dict[str, str]:
    return {"x-api-key": who}


def ask(text: str, **fields: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}], **fields}


def start(client: httpx.Client, url: str, body: dict[str, Any], deltas: int) -> tuple[str, bytes]:
    """POST a stream, read up to its ``deltas``-th delta, then drop the connection."""
    got = b""
    with client.stream("POST", f"{url}/chat", json=body, headers=key()) as response:
        assert response.status_code == 200, response.read()
        stream_id = response.headers["x-llmrelay-stream-id"]
        for chunk in response.iter_raw():
            got += chunk
            if got.count(b"event: delta") >= deltas and got.endswith(b"\n\n"):
                break
    return stream_id, got


def resume(client: httpx.Client, url: str, stream_id: str, last: str | None) -> httpx.Response:
    headers = {**key(), **({"last-event-id": last} if last else {})}
    return client.get(f"{url}/chat/{stream_id}", headers=headers)


def resume_timed(
    client: httpx.Client, url: str, stream_id: str, last: str
) -> tuple[httpx.Response, bytes, float]:
    """The resumed body, and how long it took from its first bytes to its end."""
    headers = {**key(), "last-event-id": last}
    body, first = b"", 0.0
    with client.stream("GET", f"{url}/chat/{stream_id}", headers=headers) as response:
        for chunk in response.iter_raw():
            first = first or time.monotonic()
            body += chunk
    return response, body, time.monotonic() - first


def last_id(body: bytes) -> str:
    return str(read_sse(body)[-1].id)


def text_of(body: bytes) -> str:
    return "".join(json.loads(e.data)["text"] for e in read_sse(body) if e.event == "delta")


def test_a_dropped_stream_resumes_on_another_worker_with_no_gap_and_no_duplicate(
    durable: Emulator,
) -> None:
    with httpx.Client(timeout=30) as client:
        stream_id, got = start(client, durable.url, ask(WORDS), deltas=3)
        resumed, rest, followed_s = resume_timed(client, durable.url, stream_id, last_id(got))
        assert resumed.status_code == 200
        whole = resume(client, durable.url, stream_id, None)
    assert followed_s > 0.5  # the rest arrived live, as it was generated
    assert got + rest == whole.content
    assert text_of(whole.content) == WORDS
    ids = [int(event.id or -1) for event in read_sse(whole.content)]
    assert ids == list(range(len(ids)))
    assert read_sse(whole.content)[-1].event == "done"


def test_the_resume_runs_on_a_worker_other_than_the_generating_one(durable: Emulator) -> None:
    with httpx.Client(timeout=30) as client:
        with client.stream("POST", f"{durable.url}/chat", json=ask(WORDS), headers=key()) as live:
            stream_id = live.headers["x-llmrelay-stream-id"]
            generating = worker_of(live.headers)[0]
            first = next(live.iter_raw())
        resumed = resume(client, durable.url, stream_id, last_id(first))
    assert worker_of(resumed.headers)[0] != generating
    assert text_of(first + resumed.content) == WORDS


def test_an_event_source_reconnects_by_itself_and_then_stops(durable: Emulator) -> None:
    """What a browser EventSource does: reconnect with Last-Event-ID after each drop, and
    stop at a 204 (the stream is over)."""
    with httpx.Client(timeout=30) as client:
        stream_id, got = start(client, durable.url, ask(WORDS), deltas=2)
        body = got
        for _ in range(50):
            answer = resume(client, durable.url, stream_id, last_id(body))
            if answer.status_code == 204:
                break
            assert answer.status_code == 200
            pieces = answer.content.split(b"\n\n")
            body += b"\n\n".join(pieces[:3]) + b"\n\n" if len(pieces) > 3 else answer.content
        else:
            pytest.fail("the stream never ended")
    assert text_of(body) == WORDS
    assert read_sse(body)[-1].event == "done"


def test_stop_ends_the_answer_and_closes_the_upstream(
    durable: Emulator, upstream: FakeOpenAI
) -> None:
    pieces = tuple(f"piece{n} " for n in range(200))
    upstream.queue(Reply(pieces=pieces, piece_delay_s=0.05))
    before = upstream.disconnects
    body = ask("anything", model="compat/fake-model")
    with httpx.Client(timeout=30) as client:
        stream_id, got = start(client, durable.url, body, deltas=3)
        asked = time.monotonic()
        stopped = client.post(f"{durable.url}/chat/{stream_id}/stop", headers=key())
        assert stopped.status_code == 202
        rest = resume(client, durable.url, stream_id, last_id(got))
        took = time.monotonic() - asked
    done = read_sse(rest.content)[-1]
    assert (done.event, json.loads(done.data)["finish_reason"]) == ("done", "stopped")
    assert took < 2.0
    deadline = time.monotonic() + 5
    while upstream.disconnects == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert upstream.disconnects == before + 1
    assert len(text_of(got + rest.content).split()) < 100


def test_a_thread_carries_the_history_the_upstream_sees(
    durable: Emulator, upstream: FakeOpenAI
) -> None:
    upstream.queue(Reply(pieces=("one",)), Reply(pieces=("two",)), Reply(pieces=("three",)))
    seen = len(upstream.requests)
    with httpx.Client(timeout=30) as client:
        for text in ("first", "second", "third"):
            body = ask(text, model="compat/fake-model", thread_id="e2e-thread", stream=False)
            answer = client.post(f"{durable.url}/chat", json=body, headers=key())
            assert answer.status_code == 200
        listed = client.get(f"{durable.url}/threads/e2e-thread", headers=key())
        others = client.get(f"{durable.url}/threads/e2e-thread", headers=key(BOB))
    history = upstream.requests[seen + 2].body["messages"]
    assert [(m["role"], m["content"]) for m in history] == [
        ("user", "first"),
        ("assistant", "one"),
        ("user", "second"),
        ("assistant", "two"),
        ("user", "third"),
    ]
    assert len(listed.json()["turns"]) == 3
    assert others.status_code == 404


def test_another_key_gets_404_for_a_stream_and_cannot_stop_it(durable: Emulator) -> None:
    with httpx.Client(timeout=30) as client:
        stream_id, _ = start(client, durable.url, ask("short one"), deltas=1)
        theirs = client.get(f"{durable.url}/chat/{stream_id}", headers=key(BOB))
        stop = client.post(f"{durable.url}/chat/{stream_id}/stop", headers=key(BOB))
        nobody = client.get(f"{durable.url}/chat/{stream_id}")
    assert (theirs.status_code, stop.status_code, nobody.status_code) == (404, 404, 401)


def test_twenty_abandoned_streams_resumed_at_once_are_all_exact(durable: Emulator) -> None:
    texts = [" ".join(f"s{n}w{w}" for w in range(12)) for n in range(20)]
    limits = httpx.Limits(max_connections=50)
    with httpx.Client(timeout=60, limits=limits) as client, ThreadPoolExecutor(20) as pool:
        if True:
            dropped = list(pool.map(lambda t: start(client, durable.url, ask(t), 2), texts))
            resumed = list(
                pool.map(lambda d: resume(client, durable.url, d[0], last_id(d[1])), dropped)
            )
            wholes = list(pool.map(lambda d: resume(client, durable.url, d[0], None), dropped))
    for text, (_, got), rest, whole in zip(texts, dropped, resumed, wholes, strict=True):
        assert rest.status_code == 200
        assert got + rest.content == whole.content
        assert text_of(whole.content) == text


def test_the_dev_log_says_where_the_streams_are(durable: Emulator) -> None:
    assert "durable   llmrelay-dev-streams in moto at http://127.0.0.1:" in Path(
        durable.log
    ).read_text(encoding="utf-8")


def test_use_chats_resume_picks_an_abandoned_answer_back_up(durable: Emulator) -> None:
    """The `ai` package's DefaultChatTransport: sendMessages, abandon, reconnectToStream."""
    node = shutil.which("node")
    node_dir = Path(__file__).resolve().parents[1] / "node"
    if node is None:
        missing("Node.js (>= 20)", "sudo apt-get install -y nodejs npm")
    if not (node_dir / "node_modules" / "ai" / "package.json").exists():
        missing("the `ai` npm package", "npm ci --prefix tests/node")
    script = node_dir / "ui-resume.mjs"
    command = [node, str(script), f"{durable.url}/api/chat", "resume-chat-1", WORDS]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", "LLMRELAY_KEY": ALICE},
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["resumed"] is True
    assert result["text"] == WORDS
    assert result["errors"] == []
    assert result["afterEnd"] is None
