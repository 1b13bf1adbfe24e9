"""The function as the emulator runs it: the template's settings, the environment
(template, then the user's, then a seeded secret), and the command that starts a worker."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from llmrelay.local.moto_seed import DEFAULT_SECRET_ID, DEV_TABLE, SeededSecret, read_keys
from llmrelay.local.template import FunctionConfig, load_function_config
from llmrelay.local.workers import WorkerSpec, function_environment

__all__ = ["LocalFunction", "find_template", "local_function"]

_TEMPLATE = "template.yaml"


@dataclass(frozen=True)
class LocalFunction:
    config: FunctionConfig
    spec: WorkerSpec
    secret: str | None = None  # "<name> at <moto url>" when one was seeded
    durable: str | None = None  # "<table> at <moto url>" when durable streams are on

    @property
    def timeout_s(self) -> float:
        return self.spec.timeout_s


def find_template(start: Path | None = None) -> Path:
    """``template.yaml`` in ``start`` (the working directory) or a parent, else the one
    of the source tree this package lives in."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / _TEMPLATE).is_file():
            return directory / _TEMPLATE
    return Path(__file__).resolve().parents[4] / _TEMPLATE


def _timeout(explicit: float | None, environ: Mapping[str, str]) -> float | None:
    if explicit is not None:
        return explicit
    raw = environ.get("LLMRELAY_DEV_TIMEOUT", "").strip()
    try:
        return float(raw) if raw else None
    except ValueError as exc:
        raise ValueError(f"LLMRELAY_DEV_TIMEOUT must be a number of seconds, got {raw!r}") from exc


@contextmanager
def local_function(
    template: Path,
    *,
    function: str | None = None,
    timeout_s: float | None = None,
    secrets_file: Path | None = None,
    parameters: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    durable: bool = False,
) -> Iterator[LocalFunction]:
    """The function ready to run (its seeded secret, if any, lives as long as this). With
    ``durable``, durable streams and threads are on, in a DynamoDB table on the same local
    moto server (``llmrelay dev`` does it unless ``--no-durable``)."""
    user = dict(os.environ if environ is None else environ)
    config = load_function_config(template, function, parameters)
    timeout = _timeout(timeout_s, user)
    if secrets_file is None and not durable:
        env = function_environment(config, user)
        yield LocalFunction(config, WorkerSpec.for_function(config, env, timeout))
        return
    keys = None if secrets_file is None else read_keys(secrets_file)
    name = user.get("LLMRELAY_SECRET_ID") or config.secret_name or DEFAULT_SECRET_ID
    with SeededSecret(keys, name, table=DEV_TABLE if durable else None) as extra:
        env = function_environment(config, user, extra)
        endpoint = extra.get("AWS_ENDPOINT_URL_SECRETS_MANAGER") or extra.get(
            "AWS_ENDPOINT_URL_DYNAMODB", ""
        )
        where = f"in moto at {endpoint}"
        secret = f"{name} {where}" if keys is not None else None
        table = f"{DEV_TABLE} {where}" if durable else None
        spec = WorkerSpec.for_function(config, env, timeout)
        yield LocalFunction(config, spec, secret, table)
