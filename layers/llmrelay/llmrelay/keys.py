"""Where a provider's key comes from, in this order:

1. the secret store: the Secrets Manager secret named by ``LLMRELAY_SECRET_ID``, or the store
   a caller passes in code (``stream_chat(request, secrets=StaticSecrets({...}))``);
2. the environment variable the provider's own SDK reads, under the same name as in the
   secret (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``, ``HF_TOKEN``, ``GROQ_API_KEY``, ...), so a
   library user with the usual variables set needs no AWS at all.

A key from the environment is registered for redaction when it is read, exactly like the
secret's values: it never travels inside an error or a log line.
"""

from __future__ import annotations

from llmrelay.config import Settings
from llmrelay.redact import register_secret
from llmrelay.secrets import SecretStore

__all__ = ["provider_key"]


def provider_key(name: str, secrets: SecretStore, settings: Settings) -> str | None:
    """The key called ``name``: the store's, else ``settings.environ``'s (an empty or blank
    value counts as none); ``None`` when neither has one."""
    key = secrets.get(name)
    if key is not None:
        return key
    key = settings.environ.get(name, "").strip() or None
    if key is not None:
        register_secret([key])
    return key
