"""The chat function: wiring only. The routes live in :mod:`llmrelay.gateway`, the
streaming Lambda runtime in :mod:`llmrelay.runtime`, the per-invocation logs and metrics
in :mod:`llmrelay.observability`, the SnapStart hooks in :mod:`llmrelay.snapshot` (all in
the layer)."""

from llmrelay.gateway import build_app
from llmrelay.observability import observed
from llmrelay.runtime import streaming_handler
from llmrelay.snapshot import register_snapshot_hooks

__all__ = ["handler"]

handler = streaming_handler(observed(build_app()))
# SnapStart only: warm the configured providers before the snapshot, refresh after restores.
register_snapshot_hooks()
