"""``GET /``: a small chat page served by the function itself (``static/index.html``, no
build step). It streams from ``POST /chat`` and picks models from ``GET /v1/models``, by
relative URLs, so it works on the deployed URL and under ``make dev`` alike.

The page's one script and one style sheet are inline; the ``Content-Security-Policy``
allows exactly those (by their SHA-256) and connections to the page's own origin, nothing
else. The file is read and hashed on the first request, then kept for warm invocations.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from importlib import resources

from llmrelay.http import HttpRequest, HttpResponse, InvocationContext

__all__ = ["Page", "content_security_policy", "page_html"]

_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)


def _hashes(html: str, tag: str) -> str:
    digests = (
        hashlib.sha256(body.encode("utf-8")).digest()
        for kind, body in _INLINE.findall(html)
        if kind == tag
    )
    return " ".join(f"'sha256-{base64.b64encode(digest).decode()}'" for digest in digests)


def content_security_policy(html: str) -> str:
    """Only the page's own inline script and style, and fetches to its own origin."""
    scripts = _hashes(html, "script") or "'none'"
    styles = _hashes(html, "style") or "'none'"
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {scripts}",
            f"style-src {styles}",
            "connect-src 'self'",
            "img-src data:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


@cache
def page_html() -> bytes:
    """``static/index.html``, read once."""
    return resources.files("llmrelay.gateway").joinpath("static/index.html").read_bytes()


@cache
def _headers() -> dict[str, str]:
    return {
        "content-type": "text/html; charset=utf-8",
        # Revalidated on every load, so a deploy shows at once.
        "cache-control": "no-cache",
        "content-security-policy": content_security_policy(page_html().decode("utf-8")),
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
    }


class Page:
    """The ``GET /`` handler."""

    async def __call__(self, request: HttpRequest, context: InvocationContext) -> HttpResponse:
        return HttpResponse(200, _headers(), page_html())
