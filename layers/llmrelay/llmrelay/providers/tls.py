"""The TLS context every SDK client shares, built once per process.

Loading the CA bundle costs 50-150 ms; without a shared context each new client (another
provider, a key rotation, another preset) pays it again, and the SnapStart warm-up builds it
before the snapshot so that no restored environment pays it at all. A context holds the
trusted certificates and settings, never a session or a key, so sharing it is safe.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl

__all__ = ["tls_context"]


@cache
def tls_context() -> ssl.SSLContext:
    """httpx2's default TLS context (certifi's bundle), built on first use."""
    import httpx2

    return httpx2.create_ssl_context()
