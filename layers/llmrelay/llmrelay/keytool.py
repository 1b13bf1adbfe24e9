"""``python -m llmrelay.keytool``: make client API keys and the digests the secret keeps.

The key is read from standard input (or typed at a hidden prompt), never from the command
line, where shell history and ``ps`` would keep it::

    python -m llmrelay.keytool --generate          # a new key and its digest
    printf %s "$KEY" | python -m llmrelay.keytool  # the digest of an existing key

Store the digests, never the keys, in the secret's ``CLIENT_API_KEY_HASHES``.
"""

from __future__ import annotations

import argparse
import getpass
import secrets
import sys
from collections.abc import Sequence
from typing import TextIO

from llmrelay.gateway.auth import hash_key

__all__ = ["generate_key", "main"]

_PREFIX = "llmr-"  # recognisable to secret scanners and to people


def generate_key() -> str:
    """A new random client key: the prefix and 256 bits, URL-safe."""
    return _PREFIX + secrets.token_urlsafe(32)


def _read_key(stdin: TextIO) -> str:
    if stdin.isatty():
        return getpass.getpass("client API key (hidden): ")
    return stdin.read().strip()


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m llmrelay.keytool",
        description="Print the SHA-256 digest to store in CLIENT_API_KEY_HASHES.",
    )
    parser.add_argument(
        "--generate", action="store_true", help="make a new key; print it, then its digest"
    )
    args = parser.parse_args(argv)
    if args.generate:
        key = generate_key()
        print(f"key     {key}")
        print(f"sha256  {hash_key(key)}")
        return 0
    key = _read_key(stdin or sys.stdin)
    if not key:
        print("no key given on standard input", file=sys.stderr)
        return 2
    print(hash_key(key))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
