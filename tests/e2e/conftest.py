"""Fixtures: the ``make dev`` emulator, fast and slow (see :mod:`tests.e2e.emulator`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.e2e.emulator import FAST_ECHO, SLOW_ECHO, Emulator, running_emulator


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """The emulator with a fast ``echo`` (shared by the whole session)."""
    log = tmp_path_factory.mktemp("emulator") / "dev.log"
    with running_emulator(log, FAST_ECHO) as running:
        yield running


@pytest.fixture(scope="session")
def slow_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """The emulator with a slow ``echo`` and a short function timeout (see ``SLOW_ECHO``)."""
    log = tmp_path_factory.mktemp("slow-emulator") / "dev.log"
    with running_emulator(log, SLOW_ECHO) as running:
        yield running
