from __future__ import annotations

import json

from tests.gateway.fakes import Context

from llmrelay.gateway import GatewayOptions, build_app
from llmrelay.gateway.health import package_version
from llmrelay.http import HttpRequest


async def test_health_answers_ok_with_the_configured_version() -> None:
    app = build_app(options=GatewayOptions(version="1.2.3"))
    response = await app(HttpRequest("GET", "/health"), Context())
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert isinstance(response.body, bytes)
    assert json.loads(response.body) == {"status": "ok", "version": "1.2.3"}


async def test_health_falls_back_to_the_package_version() -> None:
    response = await build_app(options=GatewayOptions())(HttpRequest("GET", "/health"), Context())
    assert isinstance(response.body, bytes)
    assert json.loads(response.body)["version"] == package_version()
    assert package_version()
