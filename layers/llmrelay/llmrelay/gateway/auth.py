"""Client authentication: who may call the gateway, by ``LLMRELAY_AUTH``.

``api_key``
    Every request but ``/health`` and ``GET /`` (the page, which then asks for a key)
    needs a client API key, as ``Authorization: Bearer <key>`` or ``x-api-key: <key>``.
    A key is valid when its SHA-256 hex digest is one of ``CLIENT_API_KEY_HASHES`` in the
    secret: a JSON list in a string (``"[\\"9f86…\\", \\"60303…\\"]"``, as the template
    creates it) or comma-separated digests. No hash configured means no key is valid: the
    gateway refuses, it never falls open. The template sets this mode for ``AuthType: NONE``.
``iam``
    The function URL's ``AWS_IAM`` auth has already checked the caller's SigV4 signature;
    the code checks nothing more. The template sets this mode for ``AuthType: AWS_IAM``.
``none`` (the default: unset)
    Open. ``make dev`` runs this way, since the emulator leaves the template's
    ``Fn::If`` unresolved.

A presented key is hashed and compared with *every* configured digest by
:func:`hmac.compare_digest`, with no early exit, so timing tells nothing about which digest,
if any, matched. The key itself never reaches a response, an error message or a log line.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import lru_cache
from typing import Literal

from llmrelay.config import Settings, get_settings
from llmrelay.errors import ConfigurationError, LLMRelayError
from llmrelay.gateway.errors import AuthUnavailable, Unauthorized
from llmrelay.gateway.logs import log_exception, log_record
from llmrelay.gateway.responses import error_response
from llmrelay.http import App, HttpRequest, HttpResponse, InvocationContext
from llmrelay.secrets import SecretStore, load_secret, secret_store_for

__all__ = [
    "HASHES_KEY",
    "AuthMode",
    "ClientAuth",
    "SecretHashes",
    "auth_mode",
    "hash_key",
    "is_open",
    "key_matches",
    "parse_hashes",
    "presented_keys",
]

AuthMode = Literal["api_key", "iam", "none"]
HASHES_KEY = "CLIENT_API_KEY_HASHES"
_MODES: Mapping[str, AuthMode] = {"api_key": "api_key", "iam": "iam", "none": "none"}
_DIGEST = re.compile(r"[0-9a-f]{64}")
_CHALLENGE = 'Bearer realm="llmrelay"'


def auth_mode(env: Mapping[str, str] | None = None) -> AuthMode:
    """``LLMRELAY_AUTH`` (``api_key``, ``iam`` or ``none``; unset is ``none``)."""
    env = os.environ if env is None else env
    raw = env.get("LLMRELAY_AUTH", "").strip().lower() or "none"
    mode = _MODES.get(raw)
    if mode is None:
        raise ConfigurationError(f"LLMRELAY_AUTH must be api_key, iam or none, got {raw[:40]!r}")
    return mode


def hash_key(key: str) -> str:
    """The SHA-256 hex digest stored in ``CLIENT_API_KEY_HASHES`` for ``key``."""
    # surrogatepass: a header decoded from JSON may hold lone surrogates; hash, never fail.
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _entries(raw: str) -> list[object]:
    text = raw.strip()
    if not text.startswith("["):
        return [part for part in re.split(r"[\s,]+", text) if part]
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if not isinstance(parsed, list):
        log_record("WARNING", f"auth: {HASHES_KEY} starts with '[' but is not a JSON list")
        return []
    return parsed


@lru_cache(maxsize=8)
def parse_hashes(raw: str) -> tuple[bytes, ...]:
    """The valid digests in ``raw`` (lower-cased). Entries that are not SHA-256 hex digests
    are dropped with a warning naming their position only: a raw key pasted there by
    mistake must not reach the logs."""
    digests: list[bytes] = []
    for index, entry in enumerate(_entries(raw)):
        value = entry.strip().lower() if isinstance(entry, str) else ""
        if _DIGEST.fullmatch(value):
            digests.append(value.encode("ascii"))
        else:
            message = f"auth: {HASHES_KEY} entry {index} is not a SHA-256 hex digest; ignored"
            log_record("WARNING", message)
    if not digests:
        log_record(
            "WARNING",
            f"auth: {HASHES_KEY} holds no digest, so every client key is refused; it must be"
            " a string in the secret: '[\"<sha256 hex>\", ...]' or comma-separated digests",
        )
    return tuple(digests)


def key_matches(key: str, digests: tuple[bytes, ...]) -> bool:
    """Whether ``key`` hashes to one of ``digests``; every digest is compared, always."""
    presented = hash_key(key).encode("ascii")
    found = False
    for digest in digests:
        found |= hmac.compare_digest(presented, digest)
    return found


def presented_keys(request: HttpRequest) -> list[str]:
    """The bearer token and the ``x-api-key`` value, those present (never logged)."""
    keys: list[str] = []
    scheme, _, token = request.header("authorization").strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        keys.append(token.strip())
    api_key = request.header("x-api-key").strip()
    if api_key:
        keys.append(api_key)
    return keys


def is_open(request: HttpRequest) -> bool:
    """``/health`` (load balancers carry no key) and ``GET /`` (the page asks for one)."""
    path = request.path.rstrip("/") or "/"
    return path == "/health" or (path == "/" and request.method.upper() in ("GET", "HEAD"))


class SecretHashes:
    """``CLIENT_API_KEY_HASHES`` from the secret, read per request through the store's cache
    (so a new key works once the cache expires, ``LLMRELAY_SECRET_MAX_AGE_S``)."""

    def __init__(
        self, *, settings: Settings | None = None, secrets: SecretStore | None = None
    ) -> None:
        self._settings = settings
        self._secrets = secrets

    def _store(self) -> SecretStore:
        settings = self._settings or get_settings()
        return self._secrets or secret_store_for(settings.secret_id, settings.secret_max_age_s)

    async def load(self, deadline: float | None) -> None:
        """Read the secret off the event loop, by ``deadline`` (raises when it cannot)."""
        await load_secret(self._store(), deadline=deadline)

    def __call__(self) -> tuple[bytes, ...]:
        return parse_hashes(self._store().get(HASHES_KEY) or "")


PathError = Callable[[str, LLMRelayError, Mapping[str, str]], HttpResponse]
"""An error in the shape of the API a path belongs to (:meth:`Router.error
<llmrelay.gateway.router.Router.error>`)."""


def _plain(path: str, error: LLMRelayError, headers: Mapping[str, str]) -> HttpResponse:
    return error_response(error, headers)


def _refused(
    request: HttpRequest, context: InvocationContext, reason: str, shape: PathError = _plain
) -> HttpResponse:
    log_record(
        "WARNING",
        "auth: request refused",
        reason=reason,
        method=request.method[:20],
        path=request.path[:200],
        source_ip=request.source_ip,
        request_id=context.aws_request_id or request.request_id,
    )
    if reason == "missing_key":
        message = "an API key is required: send Authorization: Bearer <key> or x-api-key: <key>"
        return shape(request.path, Unauthorized(message), {"www-authenticate": _CHALLENGE})
    challenge = f'{_CHALLENGE}, error="invalid_token"'
    refused = Unauthorized("the API key is not valid")
    return shape(request.path, refused, {"www-authenticate": challenge})


def _deadline(context: InvocationContext) -> float:
    """A second before the function's deadline, on the running loop's clock."""
    remaining_s = context.get_remaining_time_in_millis() / 1000 - 1.0
    return asyncio.get_running_loop().time() + remaining_s


class ClientAuth:
    """Wraps an app: requests to protected paths need a key whose digest ``digests()``
    returns (``api_key`` mode; see the module's docstring)."""

    def __init__(
        self,
        app: App,
        digests: Callable[[], tuple[bytes, ...]],
        shape: PathError = _plain,
    ) -> None:
        self._app = app
        self._digests = digests
        self._shape = shape

    async def __call__(self, request: HttpRequest, context: InvocationContext) -> HttpResponse:
        if is_open(request):
            return await self._app(request, context)
        keys = presented_keys(request)
        if not keys:
            return _refused(request, context, "missing_key", self._shape)
        try:
            load = getattr(self._digests, "load", None)
            if load is not None:  # a stalled Secrets Manager: a prompt 503, never a hang
                await load(_deadline(context))
            digests = self._digests()
        except Exception as exc:  # the secret is unreadable: refuse, never fall open
            log_exception("auth: client key digests unavailable", exc)
            unavailable = AuthUnavailable("client authentication is unavailable")
            return self._shape(request.path, unavailable, {})
        # Every presented key is checked (no short-circuit), then any one may match.
        matches = [key_matches(key, digests) for key in keys]
        if True not in matches:
            return _refused(request, context, "invalid_key", self._shape)
        # Who calls (what durable streams and threads belong to): the key's digest, never it.
        caller = "key:" + hash_key(keys[matches.index(True)])
        return await self._app(replace(request, caller=caller), context)
