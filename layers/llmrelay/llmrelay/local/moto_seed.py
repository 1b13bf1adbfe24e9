"""``--secrets-file keys.json``: the function's secret, seeded into a moto server on
loopback, so that the function reads its keys through the same boto3 / Powertools path
as in AWS (``AWS_ENDPOINT_URL_SECRETS_MANAGER`` points boto3 at moto). The same server holds
the durable streams' DynamoDB table for ``llmrelay dev`` (``AWS_ENDPOINT_URL_DYNAMODB``)."""

from __future__ import annotations

import importlib
import json
import logging
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["DEFAULT_SECRET_ID", "DEV_TABLE", "SeededSecret", "read_keys"]

DEFAULT_SECRET_ID = "llmrelay/dev"  # noqa: S105 - a name, not a value
DEV_TABLE = "llmrelay-dev-streams"
_REGION = "us-east-1"
_DUMMY = "llmrelay-local"


def read_keys(path: Path) -> dict[str, str]:
    """The secret's JSON object; every value must be a string."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read secrets file {path}: {exc}") from exc
    if not isinstance(document, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in document.items()
    ):
        example = '{"OPENAI_API_KEY": "sk-..."}'
        raise ValueError(f"{path} must hold a JSON object of strings, e.g. {example}")
    return document


class SeededSecret:
    """A moto server holding one secret (none when ``keys`` is ``None``) and, with ``table``,
    the durable streams' table; :meth:`start` returns the workers' variables."""

    def __init__(
        self,
        keys: dict[str, str] | None,
        secret_id: str = DEFAULT_SECRET_ID,
        *,
        table: str | None = None,
    ) -> None:
        self.keys = keys
        self.secret_id = secret_id
        self.table = table
        self.url = ""
        self._server: Any = None

    def start(self) -> dict[str, str]:
        # Imported here: moto and boto3 cost a second of start-up most runs never need.
        from moto.server import ThreadedMotoServer

        boto3: Any = importlib.import_module("boto3")  # untyped; moto depends on it

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        env = self.environment()

        def client(service: str) -> Any:
            return boto3.client(
                service,
                endpoint_url=self.url,
                region_name=_REGION,
                aws_access_key_id=_DUMMY,
                aws_secret_access_key=_DUMMY,
            )

        if self.keys is not None:
            secrets = client("secretsmanager")
            secrets.create_secret(Name=self.secret_id, SecretString=json.dumps(self.keys))
        if self.table is not None:
            from llmrelay.durable.table import create_table

            create_table(client("dynamodb"), self.table)
        return env

    def environment(self) -> dict[str, str]:
        env: dict[str, str] = {}
        if self.keys is not None:
            env["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = self.url
            env["LLMRELAY_SECRET_ID"] = self.secret_id
        if self.table is not None:
            env["AWS_ENDPOINT_URL_DYNAMODB"] = self.url
            env["LLMRELAY_DURABLE_TABLE"] = self.table
        return {
            **env,
            "AWS_ACCESS_KEY_ID": _DUMMY,
            "AWS_SECRET_ACCESS_KEY": _DUMMY,
            "AWS_SESSION_TOKEN": _DUMMY,
            "AWS_REGION": _REGION,
            "AWS_DEFAULT_REGION": _REGION,
        }

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> dict[str, str]:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
