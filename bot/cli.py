"""`invoicebot`: serve the Slack app, run a worker, or run the self-contained demo."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="invoicebot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

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

    commands.add_parser("worker", help="run a Celery worker (same as `celery -A tasks worker`)")
    demo = commands.add_parser(
        "demo", help="run the bot against local Slack and Ekuaibao stand-ins"
    )
    demo.add_argument("--keep", action="store_true", help="keep the demo's folder of logs")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        from bot.serve import serve

        return serve(args)
    if args.command == "worker":
        from bot.supervise import run_worker

        return run_worker()
    from sandbox.demo import run_demo

    return run_demo(keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
