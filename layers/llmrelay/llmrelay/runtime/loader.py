"""Import the function's handler named by ``_HANDLER`` (``module.attribute``) at init."""

from __future__ import annotations

import importlib
import sys

__all__ = ["HandlerLoadError", "load_handler"]


class HandlerLoadError(Exception):
    """The handler cannot be loaded; ``kind`` is the type reported to ``/init/error``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(kind, message)
        self.kind = kind
        self.message = message

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


def _split(spec: str) -> tuple[str, str]:
    module, _, attribute = spec.strip().rpartition(".")
    if not module or not attribute:
        raise HandlerLoadError(
            "Runtime.MalformedHandlerName", f"Bad handler {spec!r}: expected module.attribute"
        )
    # Lambda also accepts a path-like module ("src/app.handler").
    return module.replace("/", "."), attribute


def load_handler(spec: str, task_root: str | None = None) -> object:
    """The handler object; ``task_root`` goes first on ``sys.path`` (as the managed runtime
    puts it) when it is not there yet. The module's own exception is the ``__cause__``."""
    module_name, attribute = _split(spec)
    if task_root and task_root not in sys.path:
        sys.path.insert(0, task_root)
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as exc:
        raise HandlerLoadError("Runtime.UserCodeSyntaxError", str(exc)) from exc
    except Exception as exc:
        message = f"Unable to import module {module_name!r}: {exc}"
        raise HandlerLoadError("Runtime.ImportModuleError", message) from exc
    handler = getattr(module, attribute, None)
    if handler is None or not callable(handler):
        message = f"Handler {attribute!r} missing or not callable in module {module_name!r}"
        raise HandlerLoadError("Runtime.HandlerNotFound", message)
    return handler
