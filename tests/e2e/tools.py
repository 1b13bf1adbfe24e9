"""Tools outside Python that some end-to-end tests need (Chromium, Node.js and the ``ai``
package): a missing one skips its tests with the command that installs it, except under CI
(``CI=true``), whose script installs them all, so that a missing one is a failure there."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

__all__ = ["missing"]


def missing(what: str, install: str) -> NoReturn:
    """Skip the test (fail it under CI): ``what`` is not installed; ``install`` says how."""
    message = f"{what} is not installed; install it with: {install}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI installs every tool the tests need, but {message}")
    pytest.skip(message)
