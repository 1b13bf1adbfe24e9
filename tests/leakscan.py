"""Leak scanning for tests: recognisable fake secrets, and a scanner that proves none of them
reached a response, a log record, stdout or stderr.

Seed the secret with :data:`CANARY_SECRETS` (``StaticSecrets(CANARY_SECRETS)`` or
``moto_secret(CANARY_SECRETS)``), present :data:`CANARY_CLIENT_KEY` as a client key, then
scan everything the code under test produced. The ``leak_scan`` fixture does the capturing
(stdout, stderr and ``logging`` records, at the end of the test); a test hands it its
responses with :meth:`LeakScanner.scan_response` or any text with :meth:`LeakScanner.scan`.

A value counts as leaked when it appears whole, as any 16-character piece of it (a key cut
short is still a leak), percent-encoded, or base64-encoded at any byte alignment (Lambda's
error trailers are base64). Some canaries have a provider's key shape, which the redactor
masks by pattern; the others have none, so only the secret store's registration of exact
values can mask them, and the scan proves that path too.
"""

from __future__ import annotations

import base64
import logging
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import pytest

from llmrelay.http import HttpResponse

__all__ = [
    "CANARY_CLIENT_KEY",
    "CANARY_SECRETS",
    "Leak",
    "LeakScanner",
    "leak_scan",
]

CANARY_SECRETS: Mapping[str, str] = {
    "OPENAI_API_KEY": "sk-proj-CANARYopenai7Qx2Lm9Vb4Nc8Zr1Ty6",
    "ANTHROPIC_API_KEY": "sk-ant-api03-CANARYanthropic5Tg7Hj2Kd9Wq",
    "HF_TOKEN": "hf_CANARYhuggingface3Wp8Ys6Ue1Ii",
    "GROQ_API_KEY": "gsk_CANARYgroq4Rf6Jm1Qa8BzXc",
    "GEMINI_API_KEY": "canary-gemini-1b2c3d4e5f6a7b8c9d0e",
    "COMPAT_API_KEY": "canary-compat-0f9e8d7c6b5a4f3e2d1c",
    # Bedrock's is no key in the secret but the role's access key id (AWS_ACCESS_KEY_ID),
    # which every signed request names; an AWS-shaped one, masked by pattern.
    "AWS_ACCESS_KEY_ID": "ASIACANARYBEDROCK7QX",
}
"""Provider keys no provider accepts, each unlike any text the gateway writes."""

CANARY_CLIENT_KEY = "llmr-CANARYclient-9a8b7c6d5e4f3a2b1c0d"
"""A client API key to present (store its digest, ``hash_key(CANARY_CLIENT_KEY)``)."""

_PIECE = 16


@dataclass(frozen=True)
class Leak:
    value_name: str
    form: str
    where: str
    context: str

    def __str__(self) -> str:
        return f"{self.value_name} ({self.form}) in {self.where}: ...{self.context}..."


def _base64_forms(value: bytes) -> Iterator[str]:
    """The part of ``value``'s base64 that does not depend on its neighbours, for each of
    the three byte alignments it may start at (standard and URL-safe alphabets)."""
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + value).decode("ascii")
        start = -(-pad * 4 // 3)  # the first character made of value bits only
        core = encoded[start : len(encoded) - 4]
        if len(core) >= _PIECE:
            yield core
            yield core.replace("+", "-").replace("/", "_")


def _forms(value: str) -> Iterator[tuple[str, str]]:
    yield "whole", value
    for start in range(max(0, len(value) - _PIECE) + 1):
        yield "piece", value[start : start + _PIECE]
    quoted = urllib.parse.quote(value, safe="")
    if quoted != value:
        yield "percent-encoded", quoted
    for core in _base64_forms(value.encode()):
        yield "base64", core


@dataclass
class LeakScanner:
    """Collects :class:`Leak` findings for ``values`` (name -> secret value)."""

    values: dict[str, str]
    leaks: list[Leak] = field(default_factory=list)
    scanned: int = 0

    def add(self, name: str, value: str) -> None:
        self.values[name] = value

    def scan(self, text: str | bytes, where: str) -> None:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        self.scanned += 1
        for name, value in self.values.items():
            for form, needle in _forms(value):
                index = text.find(needle)
                if index >= 0:
                    context = text[max(0, index - 40) : index + len(needle) + 40]
                    self.leaks.append(Leak(name, form, where, context))
                    break

    def scan_response(self, response: HttpResponse, body: bytes, where: str) -> None:
        """The status line's headers, cookies and body of one response."""
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        self.scan(f"{headers}\n{' '.join(response.cookies)}", f"{where} (headers)")
        self.scan(body, f"{where} (body)")

    def scan_records(self, records: Iterable[logging.LogRecord], where: str = "log") -> None:
        for record in records:
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            self.scan(text, f"{where} ({record.name})")

    def assert_clean(self) -> None:
        assert not self.leaks, "secret values leaked:\n" + "\n".join(map(str, self.leaks[:20]))


def canary_scanner() -> LeakScanner:
    return LeakScanner({**CANARY_SECRETS, "CLIENT_KEY": CANARY_CLIENT_KEY})


@pytest.fixture
def leak_scan(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> Iterator[LeakScanner]:
    """A scanner for the canaries; at the end of the test it scans what was written to
    stdout, stderr (file descriptors 1 and 2, so worker processes too) and every
    ``logging`` record, then fails the test on any leak. Not for tests using ``capsys``."""
    caplog.set_level(logging.DEBUG)
    scanner = canary_scanner()
    yield scanner
    out, err = capfd.readouterr()
    scanner.scan(out, "stdout")
    scanner.scan(err, "stderr")
    scanner.scan_records(caplog.records)
    scanner.assert_clean()
