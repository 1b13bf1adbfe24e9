"""``--secrets-file``: the file's keys, seeded into moto (the end-to-end check, that the
function reads them through boto3, is in test_front)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmrelay.local.moto_seed import SeededSecret, read_keys


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param('["a"]', "JSON object of strings", id="a-list"),
        pytest.param('{"OPENAI_API_KEY": 1}', "JSON object of strings", id="a-number"),
        pytest.param("{", "cannot read secrets file", id="not-json"),
    ],
)
def test_a_secrets_file_must_be_an_object_of_strings(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "keys.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_keys(path)


def test_a_missing_secrets_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read secrets file"):
        read_keys(tmp_path / "nope.json")


def test_the_secret_is_seeded_and_the_workers_are_pointed_at_it() -> None:
    import boto3  # type: ignore[import-untyped,unused-ignore]

    with SeededSecret({"OPENAI_API_KEY": "sk-1"}, "llmrelay/moto-seed-test") as env:
        assert env["AWS_ENDPOINT_URL_SECRETS_MANAGER"].startswith("http://127.0.0.1:")
        assert env["LLMRELAY_SECRET_ID"] == "llmrelay/moto-seed-test"
        client: Any = boto3.client(
            "secretsmanager",
            endpoint_url=env["AWS_ENDPOINT_URL_SECRETS_MANAGER"],
            region_name=env["AWS_REGION"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )
        stored = client.get_secret_value(SecretId="llmrelay/moto-seed-test")["SecretString"]
    assert json.loads(stored) == {"OPENAI_API_KEY": "sk-1"}
