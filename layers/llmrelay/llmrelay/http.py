"""The HTTP shapes shared by the runtime, the gateway and the local emulator.

A function-URL event becomes an :class:`HttpRequest`; an app answers with an
:class:`HttpResponse` whose body is bytes or an async iterator of bytes (streamed as
produced). Header names are lower-case.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["App", "Body", "HttpRequest", "HttpResponse", "InvocationContext"]

Body = bytes | AsyncIterator[bytes]


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    cookies: tuple[str, ...] = ()
    body: bytes = b""
    request_id: str = ""
    source_ip: str = ""
    # Set by the gateway: the route's ``{name}`` segments, and who is calling (``key:<hash>``
    # for a client API key, ``iam:<arn>`` under AWS_IAM, ``""`` for an open gateway).
    path_params: Mapping[str, str] = field(default_factory=dict)
    caller: str = ""

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Body = b""
    cookies: tuple[str, ...] = ()


class InvocationContext(Protocol):
    """The part of the Lambda context an app may use."""

    @property
    def aws_request_id(self) -> str: ...

    def get_remaining_time_in_millis(self) -> int: ...


App = Callable[[HttpRequest, InvocationContext], Awaitable[HttpResponse]]
