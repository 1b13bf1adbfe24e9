"""The Lambda context: function facts from the environment, time left from the deadline."""

from __future__ import annotations

import time

import pytest

from llmrelay.runtime.context import FunctionInfo, LambdaContext


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        pytest.param(
            {
                "AWS_LAMBDA_FUNCTION_NAME": "chat",
                "AWS_LAMBDA_FUNCTION_VERSION": "12",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
                "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/chat",
                "AWS_LAMBDA_LOG_STREAM_NAME": "2025/01/01/[12]abc",
            },
            FunctionInfo("chat", "12", 1024, "/aws/lambda/chat", "2025/01/01/[12]abc"),
            id="lambda",
        ),
        pytest.param({}, FunctionInfo("", "$LATEST", 0, "", ""), id="empty"),
        pytest.param({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "lots"}, FunctionInfo(), id="bad-memory"),
    ],
)
def test_function_info_from_environ(environ: dict[str, str], expected: FunctionInfo) -> None:
    assert FunctionInfo.from_environ(environ) == expected


def test_context_exposes_the_managed_runtime_attributes() -> None:
    info = FunctionInfo("chat", "3", 256, "/aws/lambda/chat", "stream")
    context = LambdaContext("req-1", "arn:aws:lambda:eu-west-1:1:function:chat", 0, "Root=1", info)
    assert (context.aws_request_id, context.invoked_function_arn) == (
        "req-1",
        "arn:aws:lambda:eu-west-1:1:function:chat",
    )
    assert (context.function_name, context.function_version, context.memory_limit_in_mb) == (
        "chat",
        "3",
        256,
    )
    assert (context.log_group_name, context.log_stream_name) == ("/aws/lambda/chat", "stream")
    assert context.client_context is None
    assert context.identity is None


@pytest.mark.parametrize(
    ("offset_ms", "low", "high"),
    [
        pytest.param(5_000, 4_000, 5_000, id="five-seconds-left"),
        pytest.param(-5_000, 0, 0, id="past-deadline-is-zero"),
    ],
)
def test_remaining_time_counts_down_to_the_deadline(offset_ms: int, low: int, high: int) -> None:
    context = LambdaContext("req", deadline_ms=int(time.time() * 1000) + offset_ms)
    assert low <= context.get_remaining_time_in_millis() <= high
