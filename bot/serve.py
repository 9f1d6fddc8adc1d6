"""`invoicebot serve`: the Slack app over HTTP (waitress) or Socket Mode."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import threading
from types import FrameType

from bot.supervise import Supervised, WorkerChild
from tasks.redact import configure_logging, redact
from tasks.settings import EKUAIBAO, Settings, fail, load_settings

log = logging.getLogger("invoicebot")


def serve(args: argparse.Namespace) -> int:
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
    if one_host := settings.one_host_warning():
        log.warning("%s", one_host)

    from bot.app import build_app
    from bot.enqueue import celery_enqueue, warm_up
    from tasks.celery_app import app as celery
    from tasks.celery_app import bound_publishing

    bound_publishing(celery, settings)
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
    from bot.readiness import BrokerProbe
    from tasks.celery_app import app as celery

    server = make_server(
        app,  # type: ignore[arg-type]
        args.host,
        args.port,
        threads=args.threads,
        ready=BrokerProbe(celery),
    )
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
