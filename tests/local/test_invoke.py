"""``llmrelay invoke events/<file>.json``: one invocation through the real wrapper and loop,
the prelude as a status line on stderr, the body on stdout as it arrives."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from llmrelay.local.cli import main
from llmrelay.local.event import IncomingRequest, build_event

from .conftest import ROOT, clean_environment

pytestmark = pytest.mark.e2e

TEMPLATE = str(ROOT / "template.yaml")


def _deltas(stdout: str) -> str:
    datas = [line.removeprefix("data:") for line in stdout.splitlines() if line.startswith("data:")]
    return "".join(json.loads(data).get("text", "") for data in datas if '"text"' in data)


def _worker_documents(err: str) -> list[dict[str, Any]]:
    """The JSON lines the worker wrote, as forwarded: ``HH:MM:SS   [pid N] {...}``."""
    lines = [line.partition("] ")[2] for line in err.splitlines() if "[pid " in line]
    return [json.loads(line) for line in lines if line.startswith("{")]


def _event_file(tmp_path: Path, method: str, target: str, body: bytes = b"") -> str:
    event = build_event(IncomingRequest(method, target, {"content-type": "application/json"}, body))
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event), encoding="utf-8")
    return str(path)


def test_the_chat_stream_event_prints_the_stream(capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["invoke", str(ROOT / "events" / "chat-stream.json"), "--template", TEMPLATE]) == 0
    out, err = capfd.readouterr()
    assert "event: meta" in out
    assert "event: done" in out
    assert _deltas(out) == "hello streaming world"
    status = next(line for line in err.splitlines() if line.startswith("HTTP "))
    assert status.startswith("HTTP 200 | content-type: text/event-stream")
    assert "REPORT RequestId: " in err


def test_the_functions_log_line_and_metrics_are_printed_before_the_report(
    capfd: pytest.CaptureFixture[str],
) -> None:
    assert main(["invoke", str(ROOT / "events" / "chat-stream.json"), "--template", TEMPLATE]) == 0
    err = capfd.readouterr().err
    report = re.search(r"^REPORT RequestId: (\S+) ", err, re.MULTILINE)
    assert report is not None
    documents = _worker_documents(err[: report.start()])
    [log] = [document for document in documents if document.get("message") == "request"]
    assert log["function_request_id"] == report.group(1)
    assert (log["status"], log["provider"], log["output_tokens"]) == (200, "echo", 3)
    [metrics] = [document for document in documents if "_aws" in document]
    assert metrics["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "LLMRelay"
    assert (metrics["Requests"], metrics["OutputTokens"]) == ([1.0], [3.0])


def test_work_after_the_response_is_waited_for_up_to_the_timeout(
    test_function: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    event = _event_file(tmp_path, "GET", "/linger")
    assert main(["invoke", event, "--template", str(test_function), "--timeout", "1"]) == 0
    out, err = capfd.readouterr()
    assert out == "answered\n"
    assert "still at work after the response" in err
    # The wait is what the 1 s timeout leaves after the response (a loaded machine: a bit less).
    waited = re.search(r"still at work (\d+\.\d\d) s after its response: stopped", err)
    assert waited is not None, err
    assert 0.5 <= float(waited.group(1)) <= 1.0
    duration = re.search(r"Duration: (\d+) ms", err)
    assert duration is not None
    assert 950 <= int(duration.group(1)) < 1900  # the 1 s timeout bounds it, not the 2 s


def test_the_body_is_printed_as_it_arrives(tmp_path: Path) -> None:
    body = json.dumps({"messages": [{"role": "user", "content": "a b c d e f g h i j"}]}).encode()
    command = [
        sys.executable,
        "-m",
        "llmrelay.local",
        "invoke",
        _event_file(tmp_path, "POST", "/chat", body),
    ]
    env = clean_environment({"LLMRELAY_ECHO_DELAY_MS": "100"})
    with subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    ) as process:
        assert process.stdout is not None
        arrivals = [time.monotonic() for line in process.stdout if line.startswith(b"event: delta")]
        assert process.wait(timeout=30) == 0
    assert len(arrivals) == 10
    assert arrivals[-1] - arrivals[0] > 0.6  # 9 pauses of 100 ms: not one burst at the end


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        pytest.param("/hang", "Task timed out after 0.50 seconds", id="timeout"),
        pytest.param("/fail", "function error: ", id="error-before-the-first-byte"),
        pytest.param("/fail-midway", "function error: ", id="error-trailer"),
    ],
)
def test_a_failed_invocation_exits_1(
    test_function: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    target: str,
    expected: str,
) -> None:
    event = _event_file(tmp_path, "GET", target)
    assert main(["invoke", event, "--template", str(test_function), "--timeout", "0.5"]) == 1
    assert expected in capfd.readouterr().err


def test_an_init_failure_exits_1(test_function: Path, capfd: pytest.CaptureFixture[str]) -> None:
    event = str(ROOT / "events" / "health.json")
    assert (
        main(["invoke", event, "--template", str(test_function), "--function", "BrokenFunction"])
        == 1
    )
    assert "init failed: Runtime.ImportModuleError" in capfd.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(None, "No such file", id="missing"),
        pytest.param("[1, 2]", "must hold a JSON object", id="not-an-object"),
        pytest.param("{not json", "Expecting property name", id="not-json"),
    ],
)
def test_a_bad_event_file_is_a_usage_error(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "event.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert main(["invoke", str(path)]) == 2
    assert message in capfd.readouterr().err


def test_template_parameters_can_be_overridden(
    capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    body = json.dumps({"messages": [{"role": "user", "content": "a b c"}]}).encode()
    args = ["invoke", _event_file(tmp_path, "POST", "/chat", body), "--template", TEMPLATE]
    assert main([*args, "--parameter-overrides", "EchoDelayMs=120"]) == 0
    duration = re.search(r"Duration: (\d+) ms", capfd.readouterr().err)
    assert duration is not None
    assert int(duration.group(1)) >= 240  # two pauses of 120 ms between the three words
