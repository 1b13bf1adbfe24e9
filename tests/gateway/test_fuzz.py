"""Whatever a client sends, /chat answers with a 4xx JSON error or a well-formed answer:
never a 5xx, never a traceback."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from tests.gateway.fakes import Context
from tests.protocols.sse_reader import read_json_events

from llmrelay.gateway import build_app
from llmrelay.http import HttpRequest

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
MESSAGE = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "system", "assistant", "tool"]) | JSON,
     "content": st.text(max_size=40) | JSON},
)  # fmt: skip
NEAR_VALID = st.fixed_dictionaries(
    {"messages": st.lists(MESSAGE, max_size=3) | JSON},
    optional={
        "model": st.sampled_from(["echo/echo", "echo", "/echo", "echo/", "acme/x"]) | JSON,
        "temperature": st.floats(-1, 3) | JSON,
        "max_tokens": st.integers(-1, 10_000) | JSON,
        "stream": st.booleans() | JSON,
        "context_id": st.text(max_size=5) | JSON,
        "user": st.text(max_size=5) | JSON,
        "surprise": JSON,
    },
)
PLAUSIBLE = st.fixed_dictionaries(
    {
        "messages": st.lists(
            st.fixed_dictionaries(
                {
                    "role": st.sampled_from(["user", "assistant", "system"]),
                    "content": st.text(min_size=1, max_size=40),
                }
            ),
            min_size=1,
            max_size=3,
        )
    },
    optional={
        "model": st.sampled_from(["echo/echo", "ECHO/any", "echo/a/b"]),
        "temperature": st.floats(0, 2),
        "max_tokens": st.integers(1, 50),
        "stream": st.booleans(),
    },
)
BODIES = st.one_of(
    PLAUSIBLE.map(lambda doc: json.dumps(doc).encode()),
    NEAR_VALID.map(lambda doc: json.dumps(doc).encode()),
    JSON.map(lambda doc: json.dumps(doc).encode()),
    st.binary(max_size=64),
)


async def _answer(body: bytes) -> tuple[int, str, bytes]:
    response = await build_app()(HttpRequest("POST", "/chat", body=body), Context())
    if isinstance(response.body, bytes):
        return response.status, response.headers["content-type"], response.body
    raw = b"".join([chunk async for chunk in response.body])
    return response.status, response.headers["content-type"], raw


@settings(
    max_examples=100,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(body=BODIES)
def test_any_body_gets_a_4xx_json_error_or_a_complete_answer(body: bytes) -> None:
    status, content_type, raw = asyncio.run(_answer(body))
    event(f"status {status}")
    assert b"Traceback" not in raw
    if status != 200:
        assert status in {400, 413}
        error: dict[str, Any] = json.loads(raw)["error"]
        assert isinstance(error["code"], str)
        assert error["code"]
    elif content_type == "application/json":
        assert set(json.loads(raw)) == {"id", "model", "text", "finish_reason", "usage"}
    else:
        assert read_json_events(raw)[-1][0] == "done"
