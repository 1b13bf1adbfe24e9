from __future__ import annotations

import base64
import hashlib
import re

from tests.gateway.app_client import call

from llmrelay.gateway import build_app
from llmrelay.gateway.page import content_security_policy, page_html


async def test_the_page_is_served_as_html_that_revalidates() -> None:
    response, body = await call(build_app(), "GET", "/")
    assert response.status == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert body == page_html()
    assert body.startswith(b"<!doctype html>")


async def test_the_page_talks_to_the_gateway_by_relative_urls_only() -> None:
    html = page_html().decode()
    assert re.findall(r"fetch\(\"([^\"]+)\"", html) == ["v1/models", "chat/", "chat"]
    assert "http://" not in html
    assert "https://" not in html


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


async def test_the_policy_allows_exactly_the_inline_script_and_style() -> None:
    response, body = await call(build_app(), "GET", "/")
    html = body.decode()
    script = re.search(r"<script>(.*?)</script>", html, re.DOTALL)
    style = re.search(r"<style>(.*?)</style>", html, re.DOTALL)
    assert script is not None
    assert style is not None
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response.headers["content-security-policy"].split(";")
    )
    assert policy["script-src"] == _sha256(script.group(1))
    assert policy["style-src"] == _sha256(style.group(1))
    assert policy["default-src"] == "'none'"
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"


def test_a_page_without_inline_code_allows_none() -> None:
    policy = content_security_policy("<p>static</p>")
    assert "script-src 'none'" in policy
    assert "style-src 'none'" in policy


async def test_only_get_is_allowed_on_the_page() -> None:
    response, _ = await call(build_app(), "POST", "/")
    assert response.status == 405
    assert response.headers["allow"] == "GET, HEAD"  # HEAD is served wherever GET is
