"""The chat function itself under SnapStart: ``functions/chat/app.py`` in a runtime process
against the fake Runtime API, a fake OpenAI upstream and the key in a moto server. Its
hooks warm the configured SDK before ``/restore/next`` and the restored environment
answers its first request with the secret read after the restore."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import SecretFactory
from tests.runtime.fake_runtime_api import BASE, FakeRuntimeApi

from llmrelay.testing import FakeOpenAI

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-snapstart-function-0123456789"


def _run_function(fake: FakeRuntimeApi, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    paths = [str(ROOT / "layers" / "llmrelay")]
    environment = {
        **os.environ,
        **env,
        "AWS_LAMBDA_RUNTIME_API": fake.address,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start",
        "LAMBDA_TASK_ROOT": str(ROOT / "functions" / "chat"),
        "_HANDLER": "app.handler",
        "AWS_LAMBDA_FUNCTION_NAME": "chat",
        "PYTHONPATH": os.pathsep.join(paths),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    # One invocation, then the loop stops (the runtime's own test entry point).
    code = "from llmrelay.runtime.loop import main; raise SystemExit(main(max_invocations=1))"
    return subprocess.run(
        [sys.executable, "-c", code],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_function_warms_before_the_snapshot_and_answers_once_restored(
    snap_start_fake: FakeRuntimeApi, moto_server: str, moto_secret: SecretFactory
) -> None:
    # A name of its own, deleted after: moto's backend outlives the test in this process.
    secret = moto_secret({"OPENAI_API_KEY": KEY}, name="llmrelay/snapstart-function")
    try:
        _answers_once_restored(snap_start_fake, moto_server, secret.secret_id)
    finally:
        secret.delete()


def _answers_once_restored(fake: FakeRuntimeApi, moto_server: str, secret_id: str) -> None:
    body = json.dumps({"messages": [{"role": "user", "content": "hello after the restore"}]})
    event = {"rawPath": "/chat", "requestContext": {"http": {"method": "POST"}}, "body": body}
    request_id = fake.enqueue(event)
    with FakeOpenAI(api_key=KEY) as upstream:
        done = _run_function(
            fake,
            {
                "LLMRELAY_DEFAULT_MODEL": "openai/gpt-4o-mini",
                "LLMRELAY_OPENAI_BASE_URL": f"{upstream.url}/v1",
                "LLMRELAY_SECRET_ID": secret_id,
                "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_server,
            },
        )
    assert done.returncode == 0, done.stderr[-3000:]
    assert [path for _, path, _ in fake.requests] == [
        f"{BASE}/restore/next",
        f"{BASE}/invocation/next",
        f"{BASE}/invocation/{request_id}/response",
    ]
    records = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    [warm_up] = [r for r in records if r.get("message") == "snapshot warm-up"]
    assert warm_up["providers"] == ["openai"]
    answer = fake.exchanges[request_id].body.decode()
    assert "event: delta" in answer
    assert "event: done" in answer
    assert KEY not in done.stdout + done.stderr
