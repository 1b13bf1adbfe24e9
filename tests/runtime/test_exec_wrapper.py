"""The exec wrapper ``layers/llmrelay/llmrelay-stream``, run the way Lambda runs it
(``wrapper PYTHON /var/runtime/bootstrap.py``) against the fake Runtime API."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

import pytest
from tests.runtime.fake_runtime_api import Exchange, FakeRuntimeApi, LambdaEnv, WriteModule

LAYER = Path(__file__).resolve().parents[2] / "layers" / "llmrelay"
WRAPPER = LAYER / "llmrelay-stream"

REPORTING_MODULE = """
    import json, os, sys

    from llmrelay.http import HttpResponse
    from llmrelay.runtime import streaming_handler

    async def app(request, context):
        facts = {
            "pythonpath": os.environ.get("PYTHONPATH", "").split(os.pathsep),
            "dont_write_bytecode": sys.dont_write_bytecode,
            "argv": sys.argv,
            "executable": sys.executable,
            "request_id": context.aws_request_id,
        }
        return HttpResponse(200, {"content-type": "application/json"}, json.dumps(facts).encode())

    handler = streaming_handler(app)
"""


def test_the_wrapper_is_committed_as_an_executable_bash_script() -> None:
    assert WRAPPER.read_text().startswith("#!/bin/bash\n")
    assert stat.S_IMODE(WRAPPER.stat().st_mode) == 0o755


_ECHO_INTERPRETER = """#!/bin/bash
printf '%s\\n' "PYTHONPATH=$PYTHONPATH" "BYTECODE=$PYTHONDONTWRITEBYTECODE" "ARGS=$*"
"""


@pytest.mark.parametrize(
    ("layout", "env", "expected_path"),
    [
        pytest.param(
            ["python"],
            {"LAMBDA_TASK_ROOT": "/var/task", "PYTHONPATH": "/var/runtime"},
            "/var/task:{opt}/python:/var/runtime",
            id="lambda",
        ),
        pytest.param(
            ["python/lib/python3.13/site-packages"],
            {"LAMBDA_TASK_ROOT": "/var/task"},
            "/var/task:{opt}/python/lib/python3.13/site-packages:{opt}/python",
            id="lambda-layer-site-packages",
        ),
        pytest.param(
            ["python"],
            {"LAMBDA_TASK_ROOT": "/var/task", "LLMRELAY_LAYER_PATH": "/src/layers/llmrelay"},
            "/var/task:/src/layers/llmrelay",
            id="layer-path-from-env",
        ),
        pytest.param([], {}, "{opt}", id="source-checkout-no-task-root"),
    ],
)
def test_the_wrapper_builds_the_path_and_drops_the_bootstrap_args(
    tmp_path: Path, layout: list[str], env: dict[str, str], expected_path: str
) -> None:
    """The wrapper alone, laid out as in ``/opt``, with an interpreter that echoes."""
    opt = tmp_path / "opt"
    for directory in layout:
        (opt / directory).mkdir(parents=True)
    opt.mkdir(exist_ok=True)
    wrapper = opt / WRAPPER.name
    wrapper.write_bytes(WRAPPER.read_bytes())
    wrapper.chmod(0o755)
    interpreter = tmp_path / "python3.13"
    interpreter.write_text(_ECHO_INTERPRETER)
    interpreter.chmod(0o755)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "LAMBDA_"))}
    result = subprocess.run(
        [str(wrapper), str(interpreter), "/var/runtime/bootstrap.py", "x"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    )
    assert result.stdout.splitlines() == [
        f"PYTHONPATH={expected_path.format(opt=opt)}",
        "BYTECODE=1",
        "ARGS=-m llmrelay.runtime",
    ]


def test_the_wrapper_needs_an_interpreter() -> None:
    result = subprocess.run([str(WRAPPER)], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "usage" in result.stderr


def _serve_one(fake: FakeRuntimeApi, env: dict[str, str]) -> Exchange:
    request_id = fake.enqueue({"rawPath": "/"})
    args = [str(WRAPPER), sys.executable, "/var/runtime/bootstrap.py", "--ignored"]
    process = subprocess.Popen(args, env=env, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(200):
            try:
                return fake.outcome_from_thread(request_id, timeout=0.1)
            except FutureTimeout:
                if process.poll() is not None:
                    break
        pytest.fail(f"no response; runtime exited {process.poll()}: {process.stderr.read()}")  # type: ignore[union-attr]
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stderr.close()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("layer_env", "expected_layer"),
    [
        pytest.param({"LLMRELAY_LAYER_PATH": str(LAYER)}, str(LAYER), id="layer-path-from-env"),
        pytest.param({}, str(LAYER), id="layer-beside-the-script"),
    ],
)
def test_the_wrapper_execs_the_loop_with_the_given_interpreter(
    threaded_fake: FakeRuntimeApi,
    write_module: WriteModule,
    lambda_env: LambdaEnv,
    task_root: Path,
    layer_env: dict[str, str],
    expected_layer: str,
) -> None:
    write_module("app", REPORTING_MODULE)
    env = lambda_env("app.handler", PYTHONPATH="/existing/path", **layer_env)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    exchange = _serve_one(threaded_fake, env)
    facts = json.loads(exchange.body)
    assert facts["pythonpath"] == [str(task_root), expected_layer, "/existing/path"]
    assert facts["dont_write_bytecode"] is True
    assert facts["argv"] == [str(LAYER / "llmrelay" / "runtime" / "__main__.py")]
    assert os.path.realpath(facts["executable"]) == os.path.realpath(sys.executable)
    assert facts["request_id"] == exchange.request_id
    # Lambda's task root is read-only: nothing may be written there, bytecode included.
    assert sorted(p.name for p in task_root.iterdir()) == ["app.py"]
