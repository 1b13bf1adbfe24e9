"""The secret store against moto: in process, and as a real server reached over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from llmrelay.errors import MissingKey
from llmrelay.redact import redact
from llmrelay.secrets import (
    SecretsManagerStore,
    StaticSecrets,
    clear_secret_caches,
    secret_store_for,
)

SecretFactory = Callable[..., Any]

KEYS = {"OPENAI_API_KEY": "sk-test-openai-0001", "HF_TOKEN": "hf_test0000token"}


def test_static_secrets_answer_from_memory_and_never_change() -> None:
    store = StaticSecrets({"GROQ_API_KEY": "gsk_static"})
    assert store.get("GROQ_API_KEY") == "gsk_static"
    assert store.get("OPENAI_API_KEY") is None
    assert store.refresh() is False


def test_static_values_are_scrubbed_from_text() -> None:
    StaticSecrets({"COMPAT_API_KEY": "static-private-value-8810"})
    assert "static-private-value-8810" not in redact("echoed static-private-value-8810")


def test_no_secret_id_means_an_empty_store() -> None:
    store = secret_store_for(None)
    assert store.get("OPENAI_API_KEY") is None
    assert store.refresh() is False


def test_stores_are_shared_per_secret_and_max_age() -> None:
    assert secret_store_for("a", 60) is secret_store_for("a", 60)
    assert secret_store_for("a", 60) is not secret_store_for("a", 30)
    assert secret_store_for("a", 60) is not secret_store_for("b", 60)


def test_clearing_the_caches_forgets_the_shared_stores() -> None:
    before = secret_store_for("a", 60)
    clear_secret_caches()
    assert secret_store_for("a", 60) is not before


def test_reads_each_key_of_the_json_secret(moto_secret: SecretFactory) -> None:
    secret = moto_secret(KEYS)
    store = SecretsManagerStore(secret.secret_id)
    assert store.get("OPENAI_API_KEY") == "sk-test-openai-0001"
    assert store.get("HF_TOKEN") == "hf_test0000token"
    assert store.get("ANTHROPIC_API_KEY") is None


def test_values_that_are_not_strings_are_ignored(moto_secret: SecretFactory) -> None:
    secret = moto_secret({"OPENAI_API_KEY": "sk-x-000000001", "RETRIES": 3, "NESTED": {"a": "b"}})
    store = SecretsManagerStore(secret.secret_id)
    assert store.get("OPENAI_API_KEY") == "sk-x-000000001"
    assert store.get("RETRIES") is None
    assert store.get("NESTED") is None


def test_empty_placeholders_of_the_deployed_template_count_as_missing(
    moto_secret: SecretFactory,
) -> None:
    secret = moto_secret(
        {"OPENAI_API_KEY": "", "GROQ_API_KEY": "  ", "HF_TOKEN": "hf_real0000token"}
    )
    store = SecretsManagerStore(secret.secret_id)
    assert store.get("OPENAI_API_KEY") is None
    assert store.get("GROQ_API_KEY") is None
    assert store.get("HF_TOKEN") == "hf_real0000token"


def test_a_changed_secret_is_not_seen_until_refresh(moto_secret: SecretFactory) -> None:
    secret = moto_secret(KEYS)
    store = SecretsManagerStore(secret.secret_id, max_age=300)
    assert store.get("OPENAI_API_KEY") == "sk-test-openai-0001"
    secret.put({**KEYS, "OPENAI_API_KEY": "sk-test-openai-0002"})
    assert store.get("OPENAI_API_KEY") == "sk-test-openai-0001"  # served from the cache
    assert store.refresh() is True
    assert store.get("OPENAI_API_KEY") == "sk-test-openai-0002"


def test_refresh_says_false_when_nothing_changed(moto_secret: SecretFactory) -> None:
    secret = moto_secret(KEYS)
    store = SecretsManagerStore(secret.secret_id)
    store.get("OPENAI_API_KEY")
    assert store.refresh() is False


def test_refresh_before_any_read_counts_as_a_change(moto_secret: SecretFactory) -> None:
    store = SecretsManagerStore(moto_secret(KEYS).secret_id)
    assert store.refresh() is True
    assert store.get("HF_TOKEN") == "hf_test0000token"


def test_max_age_zero_reads_the_secret_every_time(moto_secret: SecretFactory) -> None:
    secret = moto_secret(KEYS)
    store = SecretsManagerStore(secret.secret_id, max_age=0)
    assert store.get("OPENAI_API_KEY") == "sk-test-openai-0001"
    secret.put({"OPENAI_API_KEY": "sk-test-openai-0003"})
    assert store.get("OPENAI_API_KEY") == "sk-test-openai-0003"


def test_the_shared_store_follows_the_settings(moto_secret: SecretFactory) -> None:
    secret = moto_secret(KEYS)
    store = secret_store_for(secret.secret_id)
    assert store.get("OPENAI_API_KEY") == "sk-test-openai-0001"


def test_read_values_are_scrubbed_from_text(moto_secret: SecretFactory) -> None:
    secret = moto_secret({"COMPAT_API_KEY": "moto-plain-value-6642"})
    SecretsManagerStore(secret.secret_id).get("COMPAT_API_KEY")
    assert redact("upstream echoed moto-plain-value-6642") == "upstream echoed [redacted]"


def test_a_missing_secret_is_a_missing_key_naming_only_the_secret(
    moto_secret: SecretFactory,
) -> None:
    moto_secret(KEYS, name="llmrelay/other")
    with pytest.raises(MissingKey) as caught:
        SecretsManagerStore("llmrelay/absent").get("OPENAI_API_KEY")
    error = caught.value
    assert error.message == "could not read secret 'llmrelay/absent'"
    assert error.status == 503
    assert "sk-test-openai-0001" not in str(error.to_dict())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("OPENAI_API_KEY=sk-live-notjson-77", "could not read secret", id="not-json"),
        pytest.param('["sk-live-notjson-77"]', "must hold a JSON object", id="json-array"),
        pytest.param('"sk-live-notjson-77"', "must hold a JSON object", id="json-string"),
    ],
)
def test_a_secret_that_is_not_a_json_object_is_a_missing_key_that_leaks_nothing(
    moto_secret: SecretFactory, content: str, message: str
) -> None:
    secret = moto_secret(content)
    with pytest.raises(MissingKey) as caught:
        SecretsManagerStore(secret.secret_id).get("OPENAI_API_KEY")
    error = caught.value
    assert message in error.message
    assert secret.secret_id in error.message
    for text in (str(error), repr(error), str(error.to_dict()), str(error.__cause__)):
        assert "notjson" not in text


def test_a_deleted_secret_fails_the_refresh(moto_secret: SecretFactory) -> None:
    secret = moto_secret(KEYS)
    store = SecretsManagerStore(secret.secret_id)
    store.get("OPENAI_API_KEY")
    secret.delete()
    with pytest.raises(MissingKey):
        store.refresh()


def test_reads_through_a_moto_server_named_by_the_standard_endpoint_variable(
    moto_server: str, moto_secret: SecretFactory
) -> None:
    # No in-process mock here: the value can only come from the server over HTTP.
    secret = moto_secret(KEYS, name="llmrelay/served")
    store = secret_store_for(secret.secret_id)
    assert store.get("HF_TOKEN") == "hf_test0000token"
    secret.put({"HF_TOKEN": "hf_rotated0000token"})
    assert store.get("HF_TOKEN") == "hf_test0000token"
    assert store.refresh() is True
    assert store.get("HF_TOKEN") == "hf_rotated0000token"


def test_a_missing_secret_on_the_server_is_a_missing_key(moto_server: str) -> None:
    with pytest.raises(MissingKey, match="llmrelay/nowhere"):
        SecretsManagerStore("llmrelay/nowhere").get("OPENAI_API_KEY")
