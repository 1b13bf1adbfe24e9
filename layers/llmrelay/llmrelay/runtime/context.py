"""The Lambda context object handed to the handler with each event.

It has the attributes of the managed Python runtime's context that libraries read
(Powertools, for one), and it satisfies :class:`llmrelay.http.InvocationContext`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["FunctionInfo", "LambdaContext"]


@dataclass(frozen=True, slots=True)
class FunctionInfo:
    """What the environment says about the function; read once, at init."""

    function_name: str = ""
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 0
    log_group_name: str = ""
    log_stream_name: str = ""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> FunctionInfo:
        memory = environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
        return cls(
            function_name=environ.get("AWS_LAMBDA_FUNCTION_NAME", ""),
            function_version=environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            memory_limit_in_mb=int(memory) if memory.isdigit() else 0,
            log_group_name=environ.get("AWS_LAMBDA_LOG_GROUP_NAME", ""),
            log_stream_name=environ.get("AWS_LAMBDA_LOG_STREAM_NAME", ""),
        )


@dataclass(frozen=True, slots=True)
class LambdaContext:
    """One invocation's context; ``deadline_ms`` is epoch milliseconds, as Lambda sends it."""

    aws_request_id: str
    invoked_function_arn: str = ""
    deadline_ms: int = 0
    trace_id: str | None = None
    function: FunctionInfo = FunctionInfo()

    # The managed runtime's context has these; function-URL invocations never set them.
    client_context: None = None
    identity: None = None

    @property
    def function_name(self) -> str:
        return self.function.function_name

    @property
    def function_version(self) -> str:
        return self.function.function_version

    @property
    def memory_limit_in_mb(self) -> int:
        return self.function.memory_limit_in_mb

    @property
    def log_group_name(self) -> str:
        return self.function.log_group_name

    @property
    def log_stream_name(self) -> str:
        return self.function.log_stream_name

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds until Lambda stops the invocation (0 once the deadline has passed)."""
        return max(0, self.deadline_ms - int(time.time() * 1000))
