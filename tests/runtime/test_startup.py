"""Init: the handler is imported before the first ``/next``; when it cannot be, Lambda hears
it at ``/runtime/init/error`` and the process exits non-zero."""

from __future__ import annotations

import json
import runpy
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from tests.runtime.fake_runtime_api import FakeRuntimeApi, LambdaEnv, WriteModule

from llmrelay.runtime.loop import main

LAYER = Path(__file__).resolve().parents[2] / "layers" / "llmrelay"
SECRET = "sk-ant-ABCDEFGHIJKLMNOPQRSTUV"

GOOD_MODULE = """
    import asyncio

    from llmrelay.http import HttpResponse
    from llmrelay.runtime import streaming_handler

    IMPORT_LOOP = asyncio.get_running_loop()  # imported inside the loop that serves

    async def app(request, context):
        same = asyncio.get_running_loop() is IMPORT_LOOP
        return HttpResponse(200, {"content-type": "text/plain"}, f"same loop: {same}".encode())

    handler = streaming_handler(app)
"""


@pytest.fixture
def module_name() -> str:
    return f"handler_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch, lambda_env: LambdaEnv) -> LambdaEnv:
    """``environ("mod.handler")`` puts Lambda's variables into this process's environment."""

    def apply(handler: str) -> dict[str, str]:
        env = lambda_env(handler)
        for name in ("AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "_HANDLER"):
            monkeypatch.setenv(name, env[name])
        return env

    return apply


def test_main_serves_with_the_handler_imported_in_its_one_loop(
    threaded_fake: FakeRuntimeApi, write_module: WriteModule, environ: LambdaEnv, module_name: str
) -> None:
    write_module(module_name, GOOD_MODULE)
    environ(f"{module_name}.handler")
    request_id = threaded_fake.enqueue({"rawPath": "/"})
    assert main(max_invocations=1) == 0
    assert threaded_fake.exchanges[request_id].body == b"same loop: True"


@pytest.mark.parametrize(
    ("source", "attribute", "kind", "message"),
    [
        pytest.param("def handler(:\n", "handler", "Runtime.UserCodeSyntaxError", "", id="syntax"),
        pytest.param(
            f"raise RuntimeError('no key {SECRET}')\n",
            "handler",
            "Runtime.ImportModuleError",
            "no key [redacted]",
            id="raises-at-import-redacted",
        ),
        pytest.param("handler = 42\n", "handler", "Runtime.HandlerNotFound", "", id="not-callable"),
        pytest.param("", "", "Runtime.MalformedHandlerName", "module.attribute", id="malformed"),
    ],
)
def test_main_reports_init_errors(
    threaded_fake: FakeRuntimeApi,
    write_module: WriteModule,
    environ: LambdaEnv,
    module_name: str,
    capsys: pytest.CaptureFixture[str],
    source: str,
    attribute: str,
    kind: str,
    message: str,
) -> None:
    write_module(module_name, source)
    environ(f"{module_name}.{attribute}" if attribute else module_name)
    assert main() == 1
    [init] = threaded_fake.init_errors
    assert init.headers["lambda-runtime-function-error-type"] == kind
    assert init.error is not None
    assert init.error["errorType"] == kind
    assert message in init.error["errorMessage"]
    assert SECRET not in capsys.readouterr().err
    assert not any(method == "GET" for method, _, _ in threaded_fake.requests)


def test_main_needs_the_runtime_api_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_LAMBDA_RUNTIME_API", raising=False)
    assert main() == 2


def test_main_exits_non_zero_when_the_runtime_api_is_gone(
    write_module: WriteModule,
    environ: LambdaEnv,
    monkeypatch: pytest.MonkeyPatch,
    module_name: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_module(module_name, GOOD_MODULE)
    environ(f"{module_name}.handler")
    # Bound and never listening: connections are refused, and no parallel test can take it.
    with socket.socket() as refusing:
        refusing.bind(("127.0.0.1", 0))
        port = refusing.getsockname()[1]
        monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", f"127.0.0.1:{port}")
        assert main() == 1
    assert json.loads(capsys.readouterr().err)["message"] == "runtime stopped"


@pytest.mark.parametrize(
    ("source", "handler", "kind", "message"),
    [
        pytest.param(
            "import no_such_module_here\n",
            "app.handler",
            "Runtime.ImportModuleError",
            "no_such_module_here",
            id="import-error",
        ),
        pytest.param(
            "def other(event, context):\n    return {}\n",
            "app.handler",
            "Runtime.HandlerNotFound",
            "'handler'",
            id="missing-handler",
        ),
    ],
)
def test_the_process_reports_init_errors_and_exits_non_zero(
    threaded_fake: FakeRuntimeApi,
    write_module: WriteModule,
    lambda_env: LambdaEnv,
    source: str,
    handler: str,
    kind: str,
    message: str,
) -> None:
    write_module("app", source)
    env = lambda_env(handler, PYTHONPATH=str(LAYER), PYTHONDONTWRITEBYTECODE="1")
    result = subprocess.run(
        [sys.executable, "-m", "llmrelay.runtime"],
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    [init] = threaded_fake.init_errors
    assert init.headers["lambda-runtime-function-error-type"] == kind
    assert init.error is not None
    assert message in init.error["errorMessage"]
    assert json.loads(result.stderr.splitlines()[-1])["errorType"] == kind
    assert threaded_fake.requests == [("POST", "/2018-06-01/runtime/init/error", 1)]


def test_python_dash_m_runs_main(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_LAMBDA_RUNTIME_API", raising=False)
    with pytest.raises(SystemExit) as exit_:
        runpy.run_module("llmrelay.runtime", run_name="__main__")
    assert exit_.value.code == 2
