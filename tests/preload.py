"""A pytest plugin (``-p tests.preload`` in pyproject's addopts): in each pytest-xdist worker,
the two big SDKs, imported before coverage starts measuring.

pytest-cov starts coverage in ``pytest_load_initial_conftests``, after the ``-p`` plugins are
imported. Coverage measures only llmrelay, but its tracer is called for every function call
while it runs, and the SDKs' imports make hundreds of thousands (anthropic's thousands of
pydantic models: 1.0 s to import, 1.5 s traced). Every worker of ``make test`` imports both
while it collects the suite; here they are imported untraced, which takes 0.7 s off each
worker's collection. Not in the controller, which collects nothing, nor in a single-process
run, which may not need them. llmrelay is not imported here: its import-time lines must be
measured.
"""

from __future__ import annotations

import os

if os.environ.get("PYTEST_XDIST_WORKER"):
    import anthropic  # noqa: F401
    import openai  # noqa: F401
