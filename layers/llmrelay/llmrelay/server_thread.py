"""Run an :mod:`llmrelay.httpd` server on its own event loop in a daemon thread.

For tests, fakes and tools whose own loop (or lack of one) must not matter:
``with ServerThread(handler) as server: ... server.url``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

from llmrelay.httpd import Handler, serve

__all__ = ["ServerThread"]


class ServerThread:
    """Runs a handler's server on its own event loop in a daemon thread, for tests and
    tools whose own loop (or lack of one) must not matter: ``with ServerThread(h) as s:``."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0) -> None:
        self._handler = handler
        self._host = host
        self._port = port
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def start(self) -> ServerThread:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            serve(self._handler, self._host, self._port), self.loop
        )
        try:
            self._server = future.result(timeout=10)
        except BaseException:
            self.stop()  # e.g. the port is taken: do not leave the thread and loop behind
            raise
        return self

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            # Connections first: since Python 3.12 wait_closed() waits for every open
            # (keep-alive) connection, and tasks left pending would be destroyed with the loop.
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=1)
            if self._server is not None:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._server.wait_closed(), 1)

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(close(), self.loop).result(timeout=10)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
        self.loop.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
