"""A TCP endpoint that accepts every connection and never sends a byte: a Secrets Manager
(or any upstream) behind a VPC without a route, as a client sees it."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

__all__ = ["silent_endpoint"]


@contextlib.contextmanager
def silent_endpoint() -> Iterator[str]:
    """``http://127.0.0.1:<port>``, accepting and holding connections until the end."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()
