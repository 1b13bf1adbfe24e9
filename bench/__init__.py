"""``make bench``: llmrelay measured against the physical floor and the usual alternative.

A fake upstream streams N tokens; the same stream is read (a) by the provider SDK directly,
(b) through llmrelay (the local function-URL front, the Runtime API emulator and a worker
running the real exec wrapper, runtime loop and function) and (c) through FastAPI with
sse-starlette behind uvicorn. Cold starts are measured per provider on fresh processes.
Not part of the layer: nothing here ships to Lambda.
"""

__all__: list[str] = []
