"""Serving a request imports the SDK of the provider that answers it and no other: each
case runs the real function (``functions/chat/app.py``, the buffered way a managed runtime
calls it) in a fresh interpreter, against fake upstreams on loopback and the key in a moto
Secrets Manager, then reports which SDKs ended up in ``sys.modules``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import SecretFactory

from llmrelay.testing import FakeAnthropic, FakeBedrock, FakeHuggingFace, FakeOpenAI

ROOT = Path(__file__).resolve().parents[1]
# Bedrock's "SDK" is boto3, which the secret's path imports anyway: its adapter module (and
# the botocore service model only it loads) stands for it.
SDKS = ("openai", "anthropic", "huggingface_hub", "llmrelay.providers.bedrock")
KEYS = {
    "OPENAI_API_KEY": "sk-iso-openai",
    "COMPAT_API_KEY": "sk-iso-openai",  # the same fake answers the compat preset
    "ANTHROPIC_API_KEY": "sk-ant-iso",
    "HF_TOKEN": "hf_iso",
}

# Runs in the child: the function's module imported as Lambda imports it, one event through
# its handler, then which of the SDKs (and Powertools, boto3) were imported, and when.
_CHILD = """
import json, sys, threading
def loaded():
    return [m for m in ("openai", "anthropic", "huggingface_hub", "llmrelay.providers.bedrock",
                        "boto3", "aws_lambda_powertools") if m in sys.modules]
started = []
_start = threading.Thread.start
def start(self):
    started.append(self.name)
    _start(self)
threading.Thread.start = start
import app
at_init = loaded()
model = sys.argv[1]
if model:
    class Context:
        aws_request_id = "iso-1"
        def get_remaining_time_in_millis(self):
            return 30_000
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "hi there"}]})
    event = {"rawPath": "/chat", "requestContext": {"http": {"method": "POST"}}, "body": body}
    result = app.handler(event, Context())
    assert result["statusCode"] == 200, result
    assert "event: done" in result["body"], result["body"]
print(json.dumps({"init": at_init, "served": loaded(), "threads": sorted(set(started))}))
"""


@pytest.fixture(scope="module")
def upstreams() -> Iterator[dict[str, str]]:
    with (
        FakeOpenAI(api_key=KEYS["OPENAI_API_KEY"]) as openai,
        FakeAnthropic() as anthropic,
        FakeHuggingFace(api_key=KEYS["HF_TOKEN"]) as huggingface,
        FakeBedrock(access_key_id="testing") as bedrock,
    ):
        yield {
            "LLMRELAY_OPENAI_BASE_URL": f"{openai.url}/v1",
            "LLMRELAY_ANTHROPIC_BASE_URL": anthropic.url,
            "LLMRELAY_HUGGINGFACE_BASE_URL": f"{huggingface.url}/v1",
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": bedrock.url,
        }


def run_function(model: str, env: dict[str, str]) -> dict[str, list[str]]:
    paths = [str(ROOT / "functions" / "chat"), str(ROOT / "layers" / "llmrelay")]
    environment = {**os.environ, **env, "PYTHONPATH": os.pathsep.join(paths)}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, model],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, list[str]] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


CASES = [
    pytest.param("echo/echo", set(), id="echo"),
    pytest.param("openai/gpt-4o-mini", {"openai"}, id="openai"),
    pytest.param("compat/qwen2.5", {"openai"}, id="openai-compatible"),
    pytest.param("anthropic/claude-sonnet-4-5", {"anthropic"}, id="anthropic"),
    pytest.param("huggingface/meta-llama/Llama-3.1-8B-Instruct", {"huggingface_hub"},
                 id="huggingface"),
    pytest.param("bedrock/amazon.nova-lite-v1:0", {"llmrelay.providers.bedrock"}, id="bedrock"),
]  # fmt: skip


@pytest.mark.parametrize(("model", "sdks"), CASES)
def test_a_request_imports_only_the_sdk_of_its_provider(
    model: str,
    sdks: set[str],
    upstreams: dict[str, str],
    moto_server: str,
    moto_secret: SecretFactory,
) -> None:
    secret = moto_secret(KEYS)
    env = {
        **upstreams,
        "LLMRELAY_SECRET_ID": secret.secret_id,
        "LLMRELAY_COMPAT_BASE_URL": upstreams["LLMRELAY_OPENAI_BASE_URL"],
        "LLMRELAY_RETRY_ATTEMPTS": "0",
        # A fresh interpreter imports boto3 for the secret: slow on a loaded machine, and
        # not what this test is about.
        "LLMRELAY_SECRET_TIMEOUT_MS": "30000",
    }
    report = run_function(model, env)
    assert set(report["served"]) & set(SDKS) == sdks
    # Only a Bedrock request starts a Bedrock thread (the secret's fetch has one of its own).
    bedrock_threads = {name for name in report["threads"] if name == "llmrelay-bedrock"}
    assert bedrock_threads == ({"llmrelay-bedrock"} if model.startswith("bedrock/") else set())


def test_loading_the_function_imports_no_sdk_no_boto3_no_powertools() -> None:
    report = run_function("", {"LLMRELAY_SECRET_ID": "llmrelay/never-read"})
    assert report["init"] == report["served"] == []


def test_an_echo_request_without_a_secret_never_imports_boto3() -> None:
    report = run_function("echo/echo", {})
    assert "boto3" not in report["served"]
    assert set(report["served"]) & set(SDKS) == set()
    assert report["threads"] == []  # no thread at all: no secret fetch, no Bedrock call
