"""The Runtime API client reads every reply framing Lambda may use, and refuses an
invocation it cannot serve."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from llmrelay import httpd
from llmrelay.runtime.api import Invocation, RuntimeApi, RuntimeApiError

_HEAD = (
    "Lambda-Runtime-Aws-Request-Id: r-1\r\n"
    "Lambda-Runtime-Deadline-Ms: 1700000000000\r\n"
    "Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:eu-west-1:1:function:f\r\n"
    "Lambda-Runtime-Trace-Id: Root=1-2\r\n"
)
_INVOCATION = Invocation(
    "r-1", b"{}", 1700000000000, "arn:aws:lambda:eu-west-1:1:function:f", "Root=1-2"
)


@contextlib.asynccontextmanager
async def _serving(raw: bytes, keep_alive: bool = True) -> AsyncIterator[RuntimeApi]:
    async def handle(request: httpd.Request, response: httpd.ResponseWriter) -> None:
        await response.write_raw(raw)
        response.finished = True
        response.keep_alive = keep_alive

    server = await httpd.serve(handle)
    api = RuntimeApi(f"127.0.0.1:{server.sockets[0].getsockname()[1]}")
    try:
        yield api
    finally:
        api.close()
        server.close()


@pytest.mark.parametrize(
    ("raw", "keep_alive"),
    [
        pytest.param(f"HTTP/1.1 200 OK\r\n{_HEAD}Content-Length: 2\r\n\r\n{{}}", True, id="length"),
        pytest.param(
            f"HTTP/1.1 200 OK\r\n{_HEAD}Transfer-Encoding: chunked\r\n\r\n"
            "1\r\n{\r\n1;ext=1\r\n}\r\n0\r\nX-Trailer: 1\r\n\r\n",
            True,
            id="chunked-with-extension-and-trailer",
        ),
        pytest.param(f"HTTP/1.1 200 OK\r\n{_HEAD}\r\n{{}}", False, id="until-close"),
    ],
)
async def test_next_invocation_reads_each_framing(raw: str, keep_alive: bool) -> None:
    async with _serving(raw.encode(), keep_alive) as api:
        assert await api.next_invocation() == _INVOCATION
        assert await api.next_invocation() == _INVOCATION  # the connection stays usable


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(
            'HTTP/1.1 500 Internal Server Error\r\nContent-Length: 9\r\n\r\n{"x":"y"}',
            'next invocation: Runtime API answered 500 {"x":"y"}',
            id="server-error",
        ),
        pytest.param(
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
            "next invocation: Runtime API answered 200 {}",
            id="no-request-id",
        ),
    ],
)
async def test_next_invocation_refuses_what_it_cannot_serve(raw: str, message: str) -> None:
    async with _serving(raw.encode()) as api:
        with pytest.raises(RuntimeApiError) as error:
            await api.next_invocation()
        assert str(error.value) == message
