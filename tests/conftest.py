"""Fixtures for every test: a clean llmrelay state, fake AWS credentials, and moto for
Secrets Manager (in process, or as a real server on loopback)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from tests.helpers.shell_env import is_scrubbed

from llmrelay.config import get_settings
from llmrelay.secrets import clear_secret_caches

# What make test's serial part looks for (scripts/run_tests.py, the same pattern; written as a
# pattern here, so this file is not one of the files it finds).
_SERIAL_MARK = re.compile(r"mark\.serial")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """``make test``'s serial part collects only the files that name the serial mark: a test
    marked serial from anywhere else (a conftest, a plugin) would run in neither part."""
    for item in items:
        if item.get_closest_marker("serial") and not _SERIAL_MARK.search(
            item.path.read_text(encoding="utf-8")
        ):
            message = f"{item.nodeid} is marked serial outside its file: make test would skip it"
            raise pytest.UsageError(message)


_FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture(autouse=True)
def _clean_state(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Every test starts from the same environment and from empty llmrelay caches."""
    for name in list(os.environ):
        if is_scrubbed(name):  # nothing from the developer's shell may reach a test
            monkeypatch.delenv(name)
    for name, value in _FAKE_AWS.items():
        monkeypatch.setenv(name, value)
    no_file = tmp_path_factory.getbasetemp() / "no-aws-config"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(no_file))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(no_file))
    get_settings.cache_clear()
    clear_secret_caches()
    yield
    get_settings.cache_clear()
    clear_secret_caches()


@dataclass(frozen=True)
class MotoSecret:
    """A secret created in moto; :meth:`put` stores a new version (a rotation)."""

    secret_id: str
    client: Any

    def put(self, value: Mapping[str, object] | str) -> None:
        self.client.put_secret_value(SecretId=self.secret_id, SecretString=_encode(value))

    def delete(self) -> None:
        self.client.delete_secret(SecretId=self.secret_id, ForceDeleteWithoutRecovery=True)


SecretFactory = Callable[..., MotoSecret]


def _encode(value: Mapping[str, object] | str) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@pytest.fixture(scope="session")
def _shared_botocore_loader() -> Iterator[None]:
    """One botocore data loader for the whole run. Every new boto3 session (moto's mock_aws
    makes one per test, Powertools one per provider) would otherwise parse the same service
    JSON again, about 0.1 s each time; the data is read-only, so sharing it changes nothing."""
    import botocore.session  # type: ignore[import-untyped]

    original = botocore.session.create_loader
    loaders: dict[str | None, Any] = {}

    def shared(search_path_string: str | None = None) -> Any:
        if search_path_string not in loaders:
            loaders[search_path_string] = original(search_path_string)
        return loaders[search_path_string]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", shared)
        yield


@pytest.fixture
def moto_secret(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    _shared_botocore_loader: None,
) -> Iterator[SecretFactory]:
    """``moto_secret({"OPENAI_API_KEY": "sk-..."})`` creates the secret (a JSON object, or any
    string as given), points ``LLMRELAY_SECRET_ID`` at it and returns a :class:`MotoSecret`.

    In-process moto by default; in a test that also uses ``moto_server``, the secret lives in
    that server and everything reaches it over HTTP.
    """
    if "moto_server" in request.fixturenames:
        request.getfixturevalue("moto_server")
        mock: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
    else:
        from moto import mock_aws

        mock = mock_aws()
    with mock:
        import boto3  # type: ignore[import-untyped]

        client = boto3.client("secretsmanager")

        created: list[str] = []

        def create(value: Mapping[str, object] | str, name: str = "llmrelay/test") -> MotoSecret:
            client.create_secret(Name=name, SecretString=_encode(value))
            created.append(name)
            monkeypatch.setenv("LLMRELAY_SECRET_ID", name)
            get_settings.cache_clear()
            return MotoSecret(name, client)

        yield create
        # A moto server's backend is the process's and outlives the test: a secret left in it
        # breaks the next test in this worker that creates one of the same name.
        for name in created:
            with contextlib.suppress(Exception):
                client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


DYNAMODB_TABLE = "llmrelay-test"


@pytest.fixture
def dynamodb(_shared_botocore_loader: None) -> Iterator[Any]:
    """A boto3 DynamoDB client on in-process moto, with :data:`DYNAMODB_TABLE` created as
    the template creates the durable table."""
    from moto import mock_aws

    from llmrelay.durable.table import create_table

    with mock_aws():
        import boto3

        client = boto3.client("dynamodb")
        create_table(client, DYNAMODB_TABLE)
        yield client


@pytest.fixture(scope="session")
def _moto_server_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def moto_server(
    _moto_server_url: str, monkeypatch: pytest.MonkeyPatch, _shared_botocore_loader: None
) -> str:
    """A moto server on loopback, emptied, reached through boto3's standard
    ``AWS_ENDPOINT_URL_SECRETS_MANAGER``; returns its URL."""
    reset = urllib.request.Request(f"{_moto_server_url}/moto-api/reset", method="POST")  # noqa: S310 (our loopback URL)
    with urllib.request.urlopen(reset, timeout=5) as answer:  # noqa: S310
        assert answer.status == 200
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", _moto_server_url)
    clear_secret_caches()  # a cached client would still point at the old endpoint
    return _moto_server_url
