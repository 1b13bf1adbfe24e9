"""``python -m llmrelay.runtime``: the runtime loop (what ``llmrelay-stream`` execs)."""

from llmrelay.runtime.loop import main

if __name__ == "__main__":
    raise SystemExit(main())
