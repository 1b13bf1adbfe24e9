"""The layer's Makefile (what `sam build` runs): the package and the exec wrapper land where
Lambda looks for them once the layer is unpacked into /opt. The pip step is skipped here
(SKIP_DEPS=1): it needs the network, and `sam build` exercises it."""

from __future__ import annotations

import ast
import os
import shlex
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYER = ROOT / "layers" / "llmrelay"
PACKAGE = LAYER / "llmrelay"
DEV_ONLY = ("local", "testing", "httpd", "server_thread.py")
LOCAL_ONLY_PINS = ("httptools",)

Build = Callable[..., Path]


def _make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-f", str(LAYER / "Makefile"), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )


@pytest.fixture
def build(tmp_path: Path) -> Build:
    """``make build-LLMRelayLayer`` into ``tmp_path/artifacts`` (the layer's zip root, /opt)."""

    def run(*extra: str) -> Path:
        artifacts = tmp_path / "artifacts"
        _make(
            "build-LLMRelayLayer",
            f"ARTIFACTS_DIR={artifacts}",
            "SKIP_DEPS=1",
            *(extra or ("PYTHON_FOR_BYTECODE=",)),
        )
        return artifacts

    return run


def _modules(root: Path) -> set[str]:
    return {
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def test_the_layer_holds_only_python_and_the_wrapper(build: Build) -> None:
    opt = build()
    assert sorted(path.name for path in opt.iterdir()) == ["llmrelay-stream", "python"]


def test_the_package_lands_in_opt_python(build: Build) -> None:
    package = build() / "python" / "llmrelay"
    assert (package / "__init__.py").is_file()
    shipped = {name for name in _modules(PACKAGE) if name.split(os.sep)[0] not in DEV_ONLY}
    assert _modules(package) == shipped


def test_the_wrapper_lands_executable_in_opt(build: Build) -> None:
    wrapper = build() / "llmrelay-stream"
    assert wrapper.read_bytes() == (LAYER / "llmrelay-stream").read_bytes()
    mode = wrapper.stat().st_mode
    assert mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH) == (
        stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH
    )
    assert wrapper.read_text(encoding="utf-8").startswith("#!")


def test_the_build_machines_bytecode_and_dev_tools_stay_out(build: Build) -> None:
    site = build() / "python"
    assert not [path for path in site.rglob("*") if path.name == "__pycache__"]
    assert not list(site.rglob("*.pyc"))
    for name in DEV_ONLY:
        assert not (site / "llmrelay" / name).exists()


def test_no_shipped_module_imports_a_dev_only_part(build: Build) -> None:
    package = build() / "python" / "llmrelay"
    banned = tuple(f"llmrelay.{name.removesuffix('.py')}" for name in DEV_ONLY)
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            assert not [n for n in names if n.startswith(banned)], path


def test_a_rebuild_leaves_nothing_stale(build: Build) -> None:
    opt = build()
    stale = opt / "python" / "llmrelay" / "removed_module.py"
    stale.write_text("", encoding="utf-8")
    build()
    assert not stale.exists()


def test_a_python313_precompiles_with_unchecked_hashes(build: Build) -> None:
    # Any interpreter exercises the step; the real build uses a Python 3.13.
    site = build(f"PYTHON_FOR_BYTECODE={sys.executable}") / "python"
    pyc = site / "llmrelay" / "__pycache__" / f"__init__.{sys.implementation.cache_tag}.pyc"
    flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
    assert flags == 0b01  # hash-based, source not checked (PEP 552)


@pytest.mark.parametrize(
    ("extra", "boto3_shipped"),
    [((), False), (("WITH_BOTO3=1",), True)],
    ids=["runtime-boto3", "with-boto3"],
)
def test_boto3_comes_from_the_runtime_unless_asked_for(
    extra: tuple[str, ...], boto3_shipped: bool
) -> None:
    pins = _make("-s", "print-requirements", *extra).stdout.split()
    assert any(pin.startswith("boto3==") for pin in pins) is boto3_shipped
    requirements = (LAYER / "requirements.txt").read_text(encoding="utf-8").splitlines()
    others = [
        line.strip()
        for line in requirements
        if line.strip() and not line.startswith(("#", "boto3", *LOCAL_ONLY_PINS))
    ]
    assert [pin for pin in pins if not pin.startswith("boto3")] == others


def test_pip_fetches_wheels_for_python313_on_arm64(tmp_path: Path) -> None:
    dry_run = _make("-n", "build-LLMRelayLayer", f"ARTIFACTS_DIR={tmp_path}").stdout
    command = next(line for line in dry_run.replace("\\\n", " ").splitlines() if " pip " in line)
    words = shlex.split(command.split("--requirement")[0])
    assert {
        "--only-binary=:all:",
        "--no-compile",
        "manylinux2014_aarch64",
        "manylinux_2_28_aarch64",
    } <= set(words)
    assert words[words.index("--python-version") + 1] == "3.13"
    assert words[words.index("--implementation") + 1] == "cp"
    assert words[words.index("--target") + 1] == f"{tmp_path}/python"
