"""The layer as ``sam build`` makes it (``layers/llmrelay/Makefile``, arm64 wheels from
PyPI), built into a temporary directory and weighed: unzipped (Lambda's 250 MB limit counts
that) and zipped."""

from __future__ import annotations

import os
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from bench.child import REPO

__all__ = ["LayerSize", "build_layer"]


@dataclass(frozen=True)
class LayerSize:
    unzipped_mb: float
    zipped_mb: float
    files: int


def _weigh(root: Path, archive: Path) -> LayerSize:
    total = files = 0
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                total += path.stat().st_size
                files += 1
                zipped.write(path, path.relative_to(root))
    return LayerSize(total / 1e6, archive.stat().st_size / 1e6, files)


def build_layer() -> LayerSize | str:
    """The built layer's size, or why it could not be built."""
    with tempfile.TemporaryDirectory(prefix="llmrelay-layer-") as tmp:
        artifacts = Path(tmp) / "layer"
        command = ["make", "-s", "-C", str(REPO / "layers" / "llmrelay"), "build-LLMRelayLayer"]
        done = subprocess.run(
            [*command, f"ARTIFACTS_DIR={artifacts}"],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            env={**os.environ, "MAKEFLAGS": ""},
        )
        if done.returncode != 0:
            return f"layer build failed: {done.stderr.strip()[-300:]}"
        return _weigh(artifacts, Path(tmp) / "layer.zip")
