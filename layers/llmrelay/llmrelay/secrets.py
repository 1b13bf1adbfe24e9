"""Provider keys from one AWS Secrets Manager secret (a JSON object), read with
Powertools Parameters, cached across warm invocations and refetched on demand.

boto3 honours ``AWS_ENDPOINT_URL_SECRETS_MANAGER``, so a moto server can stand in for AWS.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Protocol

from llmrelay.errors import MissingKey
from llmrelay.redact import register_secret

__all__ = [
    "SecretStore",
    "SecretsManagerStore",
    "StaticSecrets",
    "clear_secret_caches",
    "secret_store_for",
]


class SecretStore(Protocol):
    def get(self, name: str) -> str | None:
        """The value of ``name`` in the secret, or ``None``."""
        ...

    def refresh(self) -> bool:
        """Fetch the secret again now; ``True`` when its content changed."""
        ...


class StaticSecrets:
    """An in-memory store (tests, and the no-secret default)."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self.values: dict[str, str] = dict(values or {})
        register_secret(self.values.values())

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def refresh(self) -> bool:
        return False


class SecretsManagerStore:
    """One Secrets Manager secret. Powertools caches it for ``max_age`` seconds."""

    def __init__(self, secret_id: str, max_age: int = 300) -> None:
        self.secret_id = secret_id
        self.max_age = max_age
        self._values: Mapping[str, str] | None = None

    def _fetch(self, *, force: bool) -> Mapping[str, str]:
        # Imported here: boto3 costs cold-start time that echo-only calls never pay.
        from aws_lambda_powertools.utilities.parameters import get_secret
        from aws_lambda_powertools.utilities.parameters.exceptions import (
            GetParameterError,
            TransformParameterError,
        )

        try:
            raw = get_secret(
                self.secret_id, transform="json", max_age=self.max_age, force_fetch=force
            )
        except (GetParameterError, TransformParameterError) as exc:
            # The SDK's message names the secret, never its value.
            raise MissingKey(f"could not read secret {self.secret_id!r}") from exc
        if not isinstance(raw, dict):
            raise MissingKey(f"secret {self.secret_id!r} must hold a JSON object")
        # The deployed secret starts as a template of empty strings: an empty value is
        # "not configured" (MissingKey), not a key to send and see rejected with a 401.
        values = {str(k): v for k, v in raw.items() if isinstance(v, str) and v.strip()}
        register_secret(values.values())
        return values

    def get(self, name: str) -> str | None:
        self._values = self._fetch(force=False)
        return self._values.get(name)

    def refresh(self) -> bool:
        before = self._values
        self._values = self._fetch(force=True)
        return before != self._values


_stores: dict[tuple[str, int], SecretsManagerStore] = {}
_EMPTY = StaticSecrets()


def secret_store_for(secret_id: str | None, max_age: int = 300) -> SecretStore:
    """The shared store for ``secret_id`` (an empty one when no secret is configured)."""
    if secret_id is None:
        return _EMPTY
    key = (secret_id, max_age)
    store = _stores.get(key)
    if store is None:
        store = _stores[key] = SecretsManagerStore(secret_id, max_age)
    return store


def clear_secret_caches() -> None:
    """Forget every shared store and Powertools' cached values and client (tests, and a
    process that changes ``AWS_ENDPOINT_URL_SECRETS_MANAGER`` or credentials)."""
    _stores.clear()
    parameters = sys.modules.get("aws_lambda_powertools.utilities.parameters")
    if parameters is not None:  # never imported: nothing cached, and no import cost here
        parameters.clear_caches()
