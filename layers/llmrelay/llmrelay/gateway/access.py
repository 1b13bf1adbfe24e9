"""Who may call the app: the layers :func:`protect` puts around the router.

From the outside in: :class:`~llmrelay.gateway.cors.Cors` (only when
``LLMRELAY_CORS_ORIGINS`` is set), so that preflights need no key and even a 401 carries
the headers a browser needs to read it; then :class:`~llmrelay.gateway.auth.ClientAuth`
(only when ``LLMRELAY_AUTH=api_key``); then the app.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from llmrelay.config import Settings
from llmrelay.gateway.auth import ClientAuth, PathError, SecretHashes, auth_mode
from llmrelay.gateway.cors import Cors, CorsPolicy
from llmrelay.http import App
from llmrelay.secrets import SecretStore

__all__ = ["protect"]


def protect(
    app: App,
    *,
    settings: Settings | None = None,
    secrets: SecretStore | None = None,
    env: Mapping[str, str] | None = None,
    shape: PathError | None = None,
) -> App:
    """``app`` behind client authentication and CORS as ``env`` (default: the process
    environment) configures them; raises ``ConfigurationError`` for a bad ``LLMRELAY_AUTH``.
    ``shape`` gives a refusal the error shape of the API its path belongs to."""
    env = os.environ if env is None else env
    if auth_mode(env) == "api_key":
        hashes = SecretHashes(settings=settings, secrets=secrets)
        app = ClientAuth(app, hashes) if shape is None else ClientAuth(app, hashes, shape)
    policy = CorsPolicy.from_env(env)
    if policy is not None:
        app = Cors(app, policy)
    return app
