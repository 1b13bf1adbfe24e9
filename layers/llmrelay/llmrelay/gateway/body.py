"""Request bodies: size cap, then exactly one JSON value, or a 4xx error that says why.

The ``Content-Type`` is not checked: ``curl -d`` sends JSON as form data by default.
Only strict JSON is accepted (no ``NaN``/``Infinity``); bytes are decoded as UTF-8
(UTF-16/32 with a BOM too, as :func:`json.loads` detects them).
"""

from __future__ import annotations

import json

from llmrelay.gateway.errors import InvalidJson, PayloadTooLarge
from llmrelay.http import HttpRequest

__all__ = ["read_json"]


def _no_constants(name: str) -> object:
    raise InvalidJson(f"body is not valid JSON: {name} is not a JSON number")


def read_json(request: HttpRequest, max_bytes: int) -> object:
    """The request's body as decoded JSON; raises :class:`PayloadTooLarge` or
    :class:`InvalidJson` (never echoing the body back)."""
    size = len(request.body)
    if size > max_bytes:
        raise PayloadTooLarge(f"body is {size} bytes; the limit is {max_bytes}")
    if not request.body.strip():
        raise InvalidJson("body is empty; expected a JSON object")
    try:
        return json.loads(request.body, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise InvalidJson(f"body is not valid JSON: {exc.msg} at {where}") from None
    except UnicodeDecodeError:
        raise InvalidJson("body is not valid JSON: it is not UTF-8 text") from None
    except RecursionError:
        raise InvalidJson("body is not valid JSON: it nests too deeply") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise InvalidJson(f"body is not valid JSON: {str(exc)[:120]}") from None
