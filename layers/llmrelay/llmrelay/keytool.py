"""``llmrelay hash-key``: make client API keys and the digests the secret keeps.

The key is read from standard input (or typed at a hidden prompt), never from the command
line, where shell history and ``ps`` would keep it::

    llmrelay hash-key --generate          # a new key and its digest
    printf %s "$KEY" | llmrelay hash-key  # the digest of an existing key

(``python -m llmrelay.keytool`` is the same command.)

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

__all__ = ["DESCRIPTION", "configure", "generate_key", "main", "run"]

_PREFIX = "llmr-"  # recognisable to secret scanners and to people
DESCRIPTION = (
    "Print the SHA-256 digest to store in CLIENT_API_KEY_HASHES, of a new key (--generate)"
    " or of one read from standard input."
)


def generate_key() -> str:
    """A new random client key: the prefix and 256 bits, URL-safe."""
    return _PREFIX + secrets.token_urlsafe(32)


def _read_key(stdin: TextIO) -> str:
    if stdin.isatty():
        return getpass.getpass("client API key (hidden): ")
    return stdin.read().strip()


def configure(parser: argparse.ArgumentParser) -> None:
    """The command's options, on its own parser or on ``llmrelay``'s subcommand."""
    parser.add_argument(
        "--generate", action="store_true", help="make a new key; print it, then its digest"
    )


def run(args: argparse.Namespace, stdin: TextIO | None = None) -> int:
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


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(prog="llmrelay hash-key", description=DESCRIPTION)
    configure(parser)
    return run(parser.parse_args(argv), stdin)


if __name__ == "__main__":
    raise SystemExit(main())
