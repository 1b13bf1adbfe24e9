"""Fixtures for the gateway's tests: ``leak_scan`` (see :mod:`tests.leakscan`)."""

from __future__ import annotations

from tests.leakscan import leak_scan

__all__ = ["leak_scan"]
