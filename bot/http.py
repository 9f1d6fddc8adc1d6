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
#: Slack's payloads are a few KB; its biggest, a click on a full message (50 blocks of up
#: to 3000 characters, JSON-escaped, then form-encoded) or a modal's view_submission
#: (a 3000-character comment), stay well under this. Anything near it is not from Slack.
MAX_BODY = 1024 * 1024
#: Open connections per listener. Each costs a descriptor and at most its buffered body;
#: past this waitress stops accepting until one closes (poll(), not select(): no 1024 cap).
CONNECTION_LIMIT = 500
#: Slack's and Ekuaibao's headers are a few hundred bytes.
MAX_HEADER = 32 * 1024
#: How often idle connections are looked for, in seconds.
CLEANUP_S = 1


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
    idle_timeout_s: int = 10,
) -> MultiSocketServer | BaseWSGIServer:
    """A bound server; `effective_port` tells the port when 0 was asked for. `wrap` adds
    paths of our own (Ekuaibao's approval messages)."""
    application = wsgi_app(app, ready)
    return listen(
        wrap(application) if wrap else application,
        host,
        port,
        threads=threads,
        max_body=MAX_BODY,
        idle_timeout_s=idle_timeout_s,
    )


def listen(
    application: WSGIApplication,
    host: str,
    port: int,
    *,
    threads: int,
    max_body: int,
    idle_timeout_s: int,
) -> MultiSocketServer | BaseWSGIServer:
    """Every listener of `serve`, in both modes: a body over `max_body` is answered 413 from
    its Content-Length before it is read (or as soon as a chunked one passes it), and a
    connection silent for `idle_timeout_s` is closed, so strangers cost little."""
    return create_server(
        application,
        host=host,
        port=port,
        threads=threads,
        max_request_body_size=max_body + 1,  # waitress refuses a body of exactly this size
        max_request_header_size=MAX_HEADER,
        connection_limit=CONNECTION_LIMIT,
        channel_timeout=idle_timeout_s,
        cleanup_interval=CLEANUP_S,
        asyncore_use_poll=True,
        ident="invoicebot",
        clear_untrusted_proxy_headers=True,
    )
