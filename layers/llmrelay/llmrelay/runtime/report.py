"""Error reports for the Runtime API and one-line JSON logs on stderr.

Every message goes through :func:`llmrelay.redact.redact` before it leaves the process, and
stack traces are reduced to ``file:line in function`` frames (no source lines, no locals):
they reach Lambda and the logs, never the HTTP client.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass

from llmrelay.redact import redact

__all__ = ["ErrorReport", "log"]

_MAX_MESSAGE = 2048
_MAX_FRAMES = 32


@dataclass(frozen=True, slots=True)
class ErrorReport:
    error_type: str
    message: str
    stack: tuple[str, ...] = ()

    @classmethod
    def from_exception(cls, exc: BaseException) -> ErrorReport:
        import traceback  # only on failure: it costs import time on every cold start

        frames = traceback.extract_tb(exc.__traceback__)[-_MAX_FRAMES:]
        stack = tuple(f"{f.filename}:{f.lineno} in {f.name}" for f in frames)
        message = redact(str(exc))[:_MAX_MESSAGE] or type(exc).__name__
        return cls(type(exc).__name__, message, stack)

    def to_dict(self) -> dict[str, object]:
        return {
            "errorType": self.error_type,
            "errorMessage": self.message,
            "stackTrace": list(self.stack),
        }

    def to_json(self) -> bytes:
        """The compact JSON body Lambda expects: ``errorType``, ``errorMessage``, ``stackTrace``."""
        return json.dumps(self.to_dict(), separators=(",", ":")).encode()


def log(level: str, message: str, **fields: object) -> None:
    """Write one JSON line to stderr (CloudWatch keeps it as one event)."""
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
    record = {"timestamp": stamp, "level": level, "logger": "llmrelay.runtime", "message": message}
    line = json.dumps({**record, **fields}, default=str, separators=(",", ":"))
    print(redact(line), file=sys.stderr, flush=True)
