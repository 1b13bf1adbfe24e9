"""``python -m llmrelay.local dev|invoke`` (what ``make dev`` runs)."""

from llmrelay.local.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
