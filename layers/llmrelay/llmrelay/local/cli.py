"""The ``llmrelay`` command (also ``python -m llmrelay.local``): ``dev``, ``invoke`` and
``hash-key``; ``llmrelay --help`` lists them, ``llmrelay <command> --help`` explains one."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from llmrelay import keytool
from llmrelay.local.dev import DevOptions, run_dev
from llmrelay.local.function import find_template, local_function
from llmrelay.local.invoke import read_event, run_invoke
from llmrelay.local.template import parse_parameter_overrides

__all__ = ["main"]


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--template",
        type=Path,
        help="SAM template (default: template.yaml here or in a parent directory)",
    )
    parser.add_argument("--function", help="logical id of the function (default: ChatFunction)")
    parser.add_argument(
        "--timeout", type=float, help="seconds; overrides the template and LLMRELAY_DEV_TIMEOUT"
    )
    parser.add_argument(
        "--secrets-file", type=Path, help="JSON object of keys, seeded into a local moto server"
    )
    parser.add_argument(
        "--parameter-overrides",
        action="append",
        default=[],
        metavar="'KEY=VALUE ...'",
        help="template parameters, as for sam (e.g. 'EchoDelayMs=150 DefaultModel=echo/echo')",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmrelay",
        description="Run the llmrelay function locally as Lambda would, and make client keys.",
        epilog="llmrelay <command> --help tells more about one command.",
    )
    parser.add_argument("--version", action="version", version=f"llmrelay {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="<command>")
    dev = commands.add_parser(
        "dev",
        help="serve the function URL on loopback (what make dev runs)",
        description="A function-URL front and a Runtime API emulator on loopback, running "
        "the function in worker processes as Lambda would; no Docker, no AWS.",
    )
    _common(dev)
    dev.add_argument(
        "--port", type=int, default=os.environ.get("PORT") or "3000", help="default $PORT or 3000"
    )
    dev.add_argument(
        "--concurrency",
        type=int,
        default=os.environ.get("LLMRELAY_DEV_CONCURRENCY") or "8",
        help="most workers at once (default $LLMRELAY_DEV_CONCURRENCY or 8)",
    )
    dev.add_argument(
        "--no-durable",
        action="store_true",
        help="no durable streams or threads (default: on, in DynamoDB on a local moto server)",
    )
    dev.add_argument(
        "--queue-timeout",
        type=float,
        default=10.0,
        help="seconds a request waits for a worker before 429",
    )
    dev.add_argument(
        "--snap-start",
        action="store_true",
        help="cold starts as with SnapStart: restore a worker initialised ahead of time",
    )
    invoke = commands.add_parser(
        "invoke",
        help="run one event through the function and print the stream as it comes",
        description="A streaming, Docker-free sam local invoke: status and headers on stderr, "
        "the body on stdout as it arrives, then the function's logs and a REPORT line.",
    )
    invoke.add_argument(
        "event", type=Path, help="a function URL event, e.g. events/chat-stream.json"
    )
    _common(invoke)
    hash_key = commands.add_parser(
        "hash-key",
        help="make a client API key, or print the digest of one read from stdin",
        description=keytool.DESCRIPTION,
    )
    keytool.configure(hash_key)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llmrelay")
    except PackageNotFoundError:  # run from the source tree without an install
        return "(source)"


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``sys.stderr`` as it is at each record (tests swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _configure_logging() -> None:
    """The emulator's log (and the workers' output) on stderr, once per process."""
    logger = logging.getLogger("llmrelay.local")
    logger.setLevel(logging.INFO)
    if not any(isinstance(handler, _StderrHandler) for handler in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "hash-key":
        return keytool.run(args)
    _configure_logging()
    template = args.template or find_template()
    try:
        event = read_event(args.event) if args.command == "invoke" else b""
        with local_function(
            template,
            function=args.function,
            timeout_s=args.timeout,
            secrets_file=args.secrets_file,
            parameters=parse_parameter_overrides(" ".join(args.parameter_overrides).split()),
            durable=args.command == "dev" and not args.no_durable,
        ) as function:
            if args.command == "invoke":
                return run_invoke(function, event)
            options = DevOptions(
                args.port, args.concurrency, args.queue_timeout, snap_start=args.snap_start
            )
            return run_dev(function, options)
    except (OSError, ValueError) as exc:
        print(f"llmrelay {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C during invoke: the worker is already stopped
        return 130
