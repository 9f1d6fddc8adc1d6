"""HTTP mode: Bolt behind waitress, a production WSGI server with a thread pool."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress.server import create_server

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from waitress.server import BaseWSGIServer, MultiSocketServer

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
#: Slack's payloads are a few KB; anything near this is not from Slack.
MAX_BODY = 1024 * 1024


def wsgi_app(app: App, ready: Callable[[], bool] | None = None) -> WSGIApplication:
    """`POST /slack/events` for commands, events and interactivity.

    `GET /livez`: the process answers. `GET /readyz` (and `/healthz`): it can also queue a
    lookup (`ready`, the broker probe), else 503.
    """
    slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def probe(path: str) -> tuple[str, dict[str, object]]:
        if path == "/livez" or ready is None:
            return "200 OK", {"ok": True}
        if ready():
            return "200 OK", {"ok": True, "broker": "reachable"}
        return "503 Service Unavailable", {"ok": False, "broker": "unreachable"}

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path in ("/livez", "/readyz", "/healthz") and method in ("GET", "HEAD"):
            status, answer = probe(path)
            body = json.dumps(answer).encode()
            start_response(
                status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            )
            return [body]
        if path == EVENTS_PATH and method == "POST":
            try:
                return slack(environ, start_response)
            except Exception as exc:  # a payload Bolt cannot even parse: bad input, not our fault
                log.warning("rejected an unparseable Slack request: %s", type(exc).__name__)
                body = b"bad request"
                start_response(
                    "400 Bad Request",
                    [
                        ("Content-Type", "text/plain"),
                        ("Content-Length", str(len(body))),
                        ("X-Slack-No-Retry", "1"),
                    ],
                )
                return [body]
        body = b"Not Found"
        start_response(
            "404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
        )
        return [body]

    return application


def make_server(
    app: App,
    host: str,
    port: int,
    threads: int = 16,
    ready: Callable[[], bool] | None = None,
    wrap: Callable[[WSGIApplication], WSGIApplication] | None = None,
) -> MultiSocketServer | BaseWSGIServer:
    """A bound server; `effective_port` tells the port when 0 was asked for. `wrap` adds
    paths of our own (Ekuaibao's approval messages)."""
    application = wsgi_app(app, ready)
    return create_server(
        wrap(application) if wrap else application,
        host=host,
        port=port,
        threads=threads,
        max_request_body_size=MAX_BODY,
        ident="invoicebot",
        clear_untrusted_proxy_headers=True,
        channel_timeout=30,
    )
