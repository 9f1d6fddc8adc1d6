"""`invoicebot serve`: the Slack app over HTTP (waitress) or Socket Mode."""

from __future__ import annotations

import argparse
import errno
import logging
import signal
import socket
import threading
from types import FrameType
from typing import TYPE_CHECKING

from bot.supervise import BROKER_CHECK_S, Supervised, WorkerChild
from tasks import heap
from tasks.broker.check import broker_check, describe, where
from tasks.redact import configure_logging
from tasks.settings import EKUAIBAO, Settings, fail, load_settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from _typeshed.wsgi import WSGIApplication
    from waitress.server import BaseWSGIServer, MultiSocketServer

    from bot.enqueue import Enqueue

    Wrap = Callable[[WSGIApplication], WSGIApplication]

log = logging.getLogger("invoicebot")


def _settings_for(args: argparse.Namespace) -> tuple[Settings, bool, bool]:
    """The settings this mode needs (HTTP or Socket Mode, with a worker child or not)."""
    probe = load_settings()
    http_mode = args.http or probe.slack_app_token is None
    require = ["slack_bot_token"]
    if http_mode:
        require.append("slack_signing_secret")
    run_worker = args.worker if args.worker is not None else probe.is_embedded
    if run_worker:
        require.extend(EKUAIBAO)
    return load_settings(require=tuple(require)), http_mode, run_worker


def _check_before_serving(settings: Settings, run_worker: bool) -> None:
    """A broker that is not there stops us now; what an operator should know is logged."""
    # Commands would be refused one by one at the first publish: say it once, now.
    check = broker_check(settings.broker_url, BROKER_CHECK_S)
    if not check.ok:
        fail(describe(check, settings.broker_url), status=2 if check.verdict == "refused" else 1)
    if settings.effective_access_mode == "open" and not run_worker:
        # with a worker child, the child says it (the worker is where access is decided)
        from tasks.lookup.policy import OPEN_MODE_WARNING

        log.warning("%s (set ACCESS_MODE or an allowlist to restrict it)", OPEN_MODE_WARNING)
    if one_host := settings.one_host_warning():
        log.warning("%s", one_host)


def serve(args: argparse.Namespace) -> int:
    settings, http_mode, run_worker = _settings_for(args)
    configure_logging(settings.log_level)
    _check_before_serving(settings, run_worker)

    from bot.app import build_app
    from bot.enqueue import celery_enqueue, warm_up
    from tasks.celery_app import app as celery
    from tasks.celery_app import bound_publishing

    bound_publishing(celery, settings)
    warm_up(celery)
    enqueue = celery_enqueue(celery, settings.decision_key, settings.slack_response_url_prefixes)
    app = build_app(settings, enqueue)
    wrap = _events_path(settings, enqueue)
    heap.settle()
    if not http_mode:
        child = WorkerChild() if run_worker else None
        if child:
            child.start()
        stop_side = _side_server(args, settings, wrap)
        try:
            from bot.socket_mode import serve_socket_mode

            serve_socket_mode(app, settings, _describe_broker(settings))
        finally:
            if stop_side:
                stop_side()
            if child:
                child.stop()
        return 0
    server = _bind(
        app, args, settings, wrap
    )  # before the worker child: a used port must not start one
    stopping = threading.Event()
    gave_up: list[str] = []

    def give_up(code: int, reason: str) -> None:
        gave_up.append(f"the worker child exited with status {code} and was not restarted")
        stopping.set()

    child = WorkerChild(on_give_up=give_up) if run_worker else None
    if child:
        child.start()
    try:
        _serve_http(server, args, settings, child, stopping)
    finally:
        if child:
            child.stop()
    if gave_up:
        fail(gave_up[0] + ": see its line above")
    return 0


def _describe_broker(settings: Settings) -> str:
    return where(settings.broker_url)


def _events_path(settings: Settings, enqueue: Enqueue) -> Wrap | None:
    """With EKUAIBAO_EVENTS_TOKEN, the path where Ekuaibao posts its approval messages."""
    if settings.ekuaibao_events_token is None:
        return None
    from bot.ekuaibao_events import with_events

    token = settings.ekuaibao_events_token.get_secret_value()
    return lambda inner: with_events(inner, token, enqueue)


def _side_server(
    args: argparse.Namespace, settings: Settings, wrap: Wrap | None
) -> Callable[[], None] | None:
    """Socket Mode needs no HTTP for Slack, but Ekuaibao's messages still come over HTTP."""
    if wrap is None:
        return None
    from bot.ekuaibao_events import probes_only, serve_side
    from bot.readiness import BrokerProbe

    try:
        return serve_side(
            wrap(probes_only(BrokerProbe(settings.broker_url))),
            args.host,
            args.port,
            settings.http_idle_timeout_s,
        )
    except OSError as exc:
        fail(f"cannot listen on {args.host}:{args.port} for Ekuaibao: {exc.strerror or exc}")


def _bind(
    app: object, args: argparse.Namespace, settings: Settings, wrap: Wrap | None = None
) -> MultiSocketServer | BaseWSGIServer:
    """The listening server, or one line saying why there is none."""
    from bot.http import make_server
    from bot.readiness import BrokerProbe

    try:
        return make_server(
            app,  # type: ignore[arg-type]
            args.host,
            args.port,
            threads=args.threads,
            ready=BrokerProbe(settings.broker_url),
            wrap=wrap,
            idle_timeout_s=settings.http_idle_timeout_s,
        )
    except socket.gaierror:
        fail(f"cannot listen on {args.host}: no such address; check --host")
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            fail(
                f"port {args.port} is already in use on {args.host}: stop the other process "
                "or pass --port"
            )
        if exc.errno == errno.EACCES:
            fail(f"not allowed to listen on port {args.port}: pass --port above 1023")
        if exc.errno == errno.EADDRNOTAVAIL:
            fail(f"cannot listen on {args.host}: not an address of this machine; check --host")
        fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")


def _serve_http(
    server: MultiSocketServer | BaseWSGIServer,
    args: argparse.Namespace,
    settings: Settings,
    child: Supervised | None,
    stopping: threading.Event,
) -> None:
    """Until SIGTERM or SIGINT: then refuse new connections, finish the requests already
    received, and return (the caller then stops the worker child)."""
    from bot.graceful import DRAIN_S, serve_until

    port = getattr(server, "effective_port", args.port)
    print(
        f"invoicebot: listening on http://{args.host}:{port}/slack/events "
        f"(broker: {_describe_broker(settings)}; "
        f"worker: {'child process' if child else 'separate'})",
        flush=True,
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    cut = serve_until(server, stopping, DRAIN_S)
    log.info(
        "stopped serving HTTP (%d connection(s) cut)%s",
        cut,
        "; stopping the worker child" if child else "",
    )
