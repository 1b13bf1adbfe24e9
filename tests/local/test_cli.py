"""The `llmrelay` command's small pieces: the local environment and `hash-key`."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys

import pytest

from llmrelay.local.cli import main
from llmrelay.local.function import find_template
from llmrelay.local.template import load_function_config
from llmrelay.local.workers import function_environment

from .conftest import ROOT, clean_environment


def test_local_cors_matches_the_templates_default_origin() -> None:
    config = load_function_config(find_template(ROOT))
    env = function_environment(config, {})
    assert env["LLMRELAY_CORS_ORIGINS"] == "*"


def test_the_users_cors_setting_wins_over_the_local_default() -> None:
    config = load_function_config(find_template(ROOT))
    env = function_environment(config, {"LLMRELAY_CORS_ORIGINS": "https://app.example.com"})
    assert env["LLMRELAY_CORS_ORIGINS"] == "https://app.example.com"


def test_hash_key_prints_the_digest_of_the_key_on_stdin() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "llmrelay.local", "hash-key"],
        input="llmr-a-client-key\n",
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == hashlib.sha256(b"llmr-a-client-key").hexdigest()
    assert "llmr-a-client-key" not in done.stdout + done.stderr


def test_hash_key_generate_prints_a_key_and_its_digest(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hash-key", "--generate"]) == 0
    lines = dict(line.split(maxsplit=1) for line in capsys.readouterr().out.splitlines())
    assert lines["sha256"] == hashlib.sha256(lines["key"].encode()).hexdigest()


def test_an_empty_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["hash-key"]) == 2


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    listed = capsys.readouterr().out
    for command in ("dev", "invoke", "hash-key"):
        assert f"\n    {command} " in listed, listed


@pytest.mark.parametrize("command", ["dev", "invoke", "hash-key"])
def test_each_command_explains_itself(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: llmrelay {command} ")


def test_the_version_is_the_packages(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"llmrelay {version('llmrelay')}"
