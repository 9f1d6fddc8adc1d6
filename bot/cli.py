"""`invoicebot`: serve the Slack app, run a worker, check a set-up, look invoices up, or run
the self-contained demo."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="invoicebot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    _add_serve(commands)
    commands.add_parser("worker", help="run a Celery worker (same as `celery -A tasks worker`)")
    demo = commands.add_parser(
        "demo", help="run the bot against local Slack and Ekuaibao stand-ins"
    )
    demo.add_argument("--keep", action="store_true", help="keep the demo's folder of logs")
    demo.add_argument(
        "--socket-mode",
        action="store_true",
        help="run the bot in Socket Mode, over a local WebSocket stand-in",
    )

    doctor = commands.add_parser(
        "doctor", help="check the settings, Slack, Ekuaibao, the broker and the clock"
    )
    doctor.add_argument(
        "--http", action="store_true", help="check for HTTP mode even if SLACK_APP_TOKEN is set"
    )
    doctor.add_argument(
        "--manifest", type=Path, help="the app's manifest.yml (default: ./manifest.yml)"
    )

    _add_lookup(commands)
    return parser


def _add_serve(commands: Any) -> None:
    serve_cmd = commands.add_parser("serve", help="run the Slack app (Socket Mode or HTTP)")
    serve_cmd.add_argument(
        "--http", action="store_true", help="HTTP mode even if SLACK_APP_TOKEN is set"
    )
    serve_cmd.add_argument(
        "--host", default="127.0.0.1", help="HTTP mode: address to bind (0.0.0.0 for all)"
    )
    serve_cmd.add_argument("--port", type=int, default=3000, help="HTTP mode: port (default 3000)")
    serve_cmd.add_argument("--threads", type=int, default=16, help="HTTP mode: request threads")
    worker = serve_cmd.add_mutually_exclusive_group()
    worker.add_argument(
        "--worker",
        dest="worker",
        action="store_true",
        default=None,
        help="also run a worker in a child process (default with the embedded broker)",
    )
    worker.add_argument(
        "--no-worker",
        dest="worker",
        action="store_false",
        help="do not run a worker child; run `invoicebot worker` separately",
    )


def _add_lookup(commands: Any) -> None:
    lookup = commands.add_parser(
        "lookup", help="print what the bot would answer for invoice ids or a report, no Slack"
    )
    what = lookup.add_mutually_exclusive_group(required=True)
    what.add_argument("ids", nargs="*", default=[], metavar="ID", help="Ekuaibao invoice ids")
    what.add_argument("--report", metavar="CODE", help="a report code (B23001249) or id")
    lookup.add_argument("--page", type=int, default=1, help="report: which page of 20 (from 1)")
    lookup.add_argument("--json", action="store_true", help="print the Block Kit messages")
    lookup.add_argument(
        "--language", choices=["en", "zh"], help="reply language (default: BOT_LANGUAGE, else en)"
    )
    lookup.add_argument("--verbose", action="store_true", help="log what happens to stderr")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        from bot.serve import serve

        return serve(args)
    if args.command == "worker":
        from bot.worker import run_worker

        return run_worker()
    if args.command == "doctor":
        from bot.doctor import run_doctor

        return run_doctor(args)
    if args.command == "lookup":
        from bot.lookup_command import run_lookup

        return run_lookup(args)
    from sandbox.demo import run_demo

    return run_demo(keep=args.keep, socket_mode_demo=args.socket_mode)


if __name__ == "__main__":
    sys.exit(main())
