"""One JSON line per log record on stderr (CloudWatch keeps each line as one event).

Text taken from exceptions goes through :func:`llmrelay.redact.redact`, so a key that
found its way into an upstream message or a traceback never reaches the logs.
"""

from __future__ import annotations

import json
import sys
import traceback

from llmrelay.redact import redact

__all__ = ["log_exception", "log_record"]


def log_record(level: str, message: str, **fields: object) -> None:
    record = {"level": level, "logger": "llmrelay.gateway", "message": message, **fields}
    sys.stderr.write(json.dumps(record, default=str) + "\n")
    sys.stderr.flush()


def log_exception(message: str, exc: BaseException, **fields: object) -> None:
    """An ERROR record with the exception's type, its redacted text and traceback."""
    log_record(
        "ERROR",
        message,
        error_type=type(exc).__name__,
        error=redact(str(exc)),
        traceback=redact("".join(traceback.format_exception(exc))),
        **fields,
    )
