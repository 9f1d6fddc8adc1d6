"""`invoicebot`: serve the Slack app, run a worker, or run the self-contained demo."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType

from tasks.redact import configure_logging, redact
from tasks.settings import Settings, fail, load_settings

log = logging.getLogger("invoicebot")

EKUAIBAO = ("ekuaibao_app_key", "ekuaibao_app_security")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="invoicebot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the Slack app (Socket Mode or HTTP)")
    serve.add_argument(
        "--http", action="store_true", help="HTTP mode even if SLACK_APP_TOKEN is set"
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="HTTP mode: address to bind (0.0.0.0 for all)"
    )
    serve.add_argument("--port", type=int, default=3000, help="HTTP mode: port (default 3000)")
    serve.add_argument("--threads", type=int, default=16, help="HTTP mode: request threads")
    worker = serve.add_mutually_exclusive_group()
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

    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "worker":
        return _worker()
    from sandbox.demo import run_demo

    return run_demo(keep=args.keep)


# -- serve -----------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    probe = load_settings()
    http_mode = args.http or probe.slack_app_token is None
    require = ["slack_bot_token"]
    if http_mode:
        require.append("slack_signing_secret")
    run_worker = args.worker if args.worker is not None else probe.is_embedded
    if run_worker:
        require.extend(EKUAIBAO)
    settings = load_settings(require=tuple(require))
    configure_logging(settings.log_level)
    if settings.effective_access_mode == "open":
        from tasks.access import OPEN_MODE_WARNING

        log.warning("%s (set ACCESS_MODE or an allowlist to restrict it)", OPEN_MODE_WARNING)

    from bot.app import build_app
    from bot.enqueue import celery_enqueue, warm_up
    from tasks.celery_app import app as celery

    warm_up(celery)
    app = build_app(settings, celery_enqueue(celery))
    child = WorkerChild() if run_worker else None
    if child:
        child.start()
    try:
        if http_mode:
            _serve_http(app, args, settings, child)
        else:
            _serve_socket_mode(app, settings)
    finally:
        if child:
            child.stop()
    return 0


def _describe_broker(settings: Settings) -> str:
    if settings.is_embedded:
        return "embedded (" + settings.broker_url.removeprefix("embedded://") + ")"
    return redact(
        settings.broker_url.split("@")[-1] if "@" in settings.broker_url else settings.broker_url
    )


def _serve_http(
    app: object, args: argparse.Namespace, settings: Settings, child: Supervised | None
) -> None:
    from bot.http import make_server

    server = make_server(app, args.host, args.port, threads=args.threads)  # type: ignore[arg-type]
    port = getattr(server, "effective_port", args.port)
    print(
        f"invoicebot: listening on http://{args.host}:{port}/slack/events "
        f"(broker: {_describe_broker(settings)}; "
        f"worker: {'child process' if child else 'separate'})",
        flush=True,
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        server.close()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with contextlib.suppress(OSError):  # the listening socket was closed by stop()
        server.run()


def _serve_socket_mode(app: object, settings: Settings) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    assert settings.slack_app_token is not None
    handler = SocketModeHandler(
        app,  # type: ignore[arg-type]
        settings.slack_app_token.get_secret_value(),
        web_client=WebClient(base_url=settings.slack_api_url),
    )
    try:
        handler.connect()  # type: ignore[no-untyped-call]
    except SlackApiError as exc:
        fail(
            f"Slack refused SLACK_APP_TOKEN ({exc.response.get('error', 'error')}): use an "
            "app-level token with the connections:write scope"
        )
    except OSError as exc:
        fail(f"could not reach Slack at SLACK_API_URL ({type(exc).__name__})")
    print(
        f"invoicebot: connected in Socket Mode (broker: {_describe_broker(settings)})", flush=True
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stopped.set())
    signal.signal(signal.SIGINT, lambda signum, frame: stopped.set())
    stopped.wait()
    handler.close()  # type: ignore[no-untyped-call]


class Supervised:
    """A child process restarted if it dies, and stopped (SIGTERM, then SIGKILL) with us."""

    def __init__(self, args: list[str], name: str) -> None:
        self._args = args
        self._name = name
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name=name, daemon=True)

    def start(self) -> None:
        self._spawn()
        self._watcher.start()

    def _spawn(self) -> None:
        # our own argv (sys.executable and fixed arguments), never user input
        self._proc = subprocess.Popen(self._args, preexec_fn=_die_with_parent)  # noqa: S603

    def _watch(self) -> None:
        while not self._stopping.is_set():
            assert self._proc is not None
            code = self._proc.wait()
            if self._stopping.is_set():
                return
            log.error("the %s exited with status %s; restarting it in 1 s", self._name, code)
            time.sleep(1)
            if not self._stopping.is_set():
                self._spawn()

    def stop(self) -> None:
        self._stopping.set()
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()


def WorkerChild() -> Supervised:
    """`invoicebot worker` as a child of `invoicebot serve`."""
    return Supervised([sys.executable, "-m", "bot.cli", "worker"], "worker child")


def _die_with_parent() -> None:
    """Linux: the worker gets SIGTERM if the bot dies, so no orphan keeps consuming tasks."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


# -- worker ----------------------------------------------------------------------------


def _worker() -> int:
    settings = load_settings(require=EKUAIBAO)
    configure_logging(settings.log_level)
    from tasks.celery_app import QUEUE

    concurrency = settings.worker_concurrency
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "tasks",
        "worker",
        "--pool",
        settings.worker_pool,
        "--concurrency",
        str(concurrency),
        "--queues",
        QUEUE,
        "--hostname",
        f"invoicebot-{os.getpid()}@%h",
        "--loglevel",
        settings.log_level,
        "--without-gossip",
        "--without-mingle",
    ]
    # Celery runs in a supervised child: kombu can die on a broker restart
    # ("Unrecoverable error"), and a lookup queue without a consumer helps nobody.
    child = Supervised(argv, "celery worker")
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stopped.set())
    signal.signal(signal.SIGINT, lambda signum, frame: stopped.set())
    child.start()
    stopped.wait()
    child.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
