"""``python -m llmrelay.local dev`` as ``make dev`` runs it: a process of its own, the banner,
a stream delivered as it is produced, and a clean stop on SIGTERM or SIGINT to its process
group (the behaviour of the front itself is tested in test_front, in process)."""

from __future__ import annotations

import itertools
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from llmrelay.local.dev import DevOptions, banner
from llmrelay.local.function import find_template, local_function

from .conftest import ROOT, clean_environment, dev_server, pid_alive
from .sse_client import chat, read_stream, worker_of

pytestmark = pytest.mark.e2e

TWELVE_WORDS = "one two three four five six seven eight nine ten eleven twelve"


def test_the_banner_says_how_to_use_it() -> None:
    with local_function(ROOT / "template.yaml", environ={}) as function:
        text = banner(function, DevOptions(port=3000, concurrency=8), 3000)
    assert "function URL on http://127.0.0.1:3000" in text
    assert 'curl -N -X POST localhost:3000/chat -d \'{"messages":[{"role":"user",' in text
    assert "up to 8" in text
    assert "timeout 60 s" in text  # the template's


def test_make_devs_command_streams_events_as_they_are_produced() -> None:
    env = {"LLMRELAY_ECHO_DELAY_MS": "80", "LLMRELAY_DEV_CONCURRENCY": "3"}
    with dev_server(env=env) as server, httpx.Client(timeout=10) as client:
        stream = read_stream(client, f"{server.url}/chat", chat(TWELVE_WORDS))
    assert "up to 3" in server.log
    assert stream.text == TWELVE_WORDS
    deltas = stream.named("delta")
    # Eleven 80 ms pauses: the first delta arrives long before the last one exists.
    assert deltas[-1].at - deltas[0].at > 0.6
    assert sum(b.at - a.at > 0.04 for a, b in itertools.pairwise(deltas)) >= 9


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_to_the_process_group_stops_everything(signum: int) -> None:
    with (
        dev_server(env={"LLMRELAY_ECHO_DELAY_MS": "50"}) as server,
        httpx.Client(timeout=10) as client,
    ):

        def one(n: int) -> int:
            stream = read_stream(client, f"{server.url}/chat", chat(f"hi {n} a b c d e"))
            return worker_of(stream.headers)[0]

        with ThreadPoolExecutor(2) as pool:
            pids = set(pool.map(one, range(2)))
        assert len(pids) == 2
        assert all(pid_alive(pid) for pid in pids)
        began = time.monotonic()
        assert server.stop(signum) == 0
        assert time.monotonic() - began < 5
        assert not any(pid_alive(pid) for pid in pids)
        assert "llmrelay dev: stopping" in server.log


def test_a_port_in_use_is_reported() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        command = [sys.executable, "-m", "llmrelay.local", "dev", "--port", port]
        env = clean_environment()
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=30, check=False
        )
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr


def test_the_template_is_found_from_any_directory_of_the_project(tmp_path: Path) -> None:
    assert find_template(ROOT / "functions" / "chat") == ROOT / "template.yaml"
    assert find_template(tmp_path) == ROOT / "template.yaml"  # outside it: the source tree's
