"""The Docker-free local emulator: ``llmrelay dev`` and ``llmrelay invoke``.

A function-URL front turns HTTP requests into payload v2.0 events; a Runtime API emulator
hands them to worker processes that run the real exec wrapper and runtime loop; the
streamed answer (prelude, 8 NUL bytes, body, trailers) goes back to the client as it
arrives. Nothing here is imported by the function itself.
"""

__all__: list[str] = []
