"""`POST /ekuaibao/events/<EKUAIBAO_EVENTS_TOKEN>`: Ekuaibao's outbound approval messages.

Ekuaibao signs nothing, so the long token in the path is the only gate: compared in
constant time, and any other token gets the same 404 as any unknown path (nothing says
the path exists). The body must be a small JSON object; it is queued as it came, and the
answer is 204 at once: the worker re-reads everything through the API before acting.
Neither the path nor the body is ever logged (the body names people).
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from pydantic import ValidationError

from bot.enqueue import Enqueue, EnqueueFailed
from tasks.contracts import MAX_EVENT_BYTES, ReviewEvent

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

PREFIX = "/ekuaibao/events/"


def _answer(
    start_response: StartResponse, status: str, body: bytes = b"", ctype: str = "text/plain"
) -> list[bytes]:
    headers = [("Content-Length", str(len(body)))]
    if body:
        headers.append(("Content-Type", ctype))
    start_response(status, headers)
    return [body] if body else []


def not_found(start_response: StartResponse) -> list[bytes]:
    """Exactly what `bot.http` answers for any unknown path."""
    body = b"Not Found"
    start_response(
        "404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
    )
    return [body]


def with_events(inner: WSGIApplication, token: str, enqueue: Enqueue) -> WSGIApplication:
    """`inner`, plus the events path for `token`."""
    expected = (PREFIX + token).encode()

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(PREFIX):
            return inner(environ, start_response)
        if not hmac.compare_digest(path.encode("utf-8", "surrogateescape"), expected):
            return not_found(start_response)
        return _receive(environ, start_response, enqueue)

    return application


def _receive(
    environ: WSGIEnvironment, start_response: StartResponse, enqueue: Enqueue
) -> list[bytes]:
    if environ.get("REQUEST_METHOD") != "POST":
        return _answer(start_response, "405 Method Not Allowed", b"POST only")
    ctype = str(environ.get("CONTENT_TYPE") or "").split(";", 1)[0].strip().lower()
    if ctype != "application/json":
        return _answer(start_response, "415 Unsupported Media Type", b"send application/json")
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = -1
    if length < 0 or length > MAX_EVENT_BYTES:
        log.warning("refused an Ekuaibao event of %d bytes (at most %d)", length, MAX_EVENT_BYTES)
        return _answer(start_response, "413 Content Too Large", b"too large")
    raw = environ["wsgi.input"].read(length) if length else b""
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        payload = None
    if not isinstance(payload, dict):
        log.warning("refused an Ekuaibao event that is not a JSON object")
        return _answer(start_response, "400 Bad Request", b"expected a JSON object")
    try:
        event = ReviewEvent(payload=payload)
    except ValidationError:  # its text quotes the values: not for the log
        log.warning("refused an Ekuaibao event whose action or nodeId is malformed")
        return _answer(start_response, "400 Bad Request", b"action or nodeId is malformed")
    try:
        enqueue(event)
    except EnqueueFailed:  # Ekuaibao retries (when its admin allowed retries): say so
        return _answer(start_response, "503 Service Unavailable", b"try again")
    log.info("queued an Ekuaibao event (%d bytes)", length)
    return _answer(start_response, "204 No Content")


def probes_only(ready: Callable[[], bool] | None) -> WSGIApplication:
    """Socket Mode's small HTTP side: `/livez`, `/readyz`, `/healthz`; everything else 404."""

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path in ("/livez", "/readyz", "/healthz") and environ.get("REQUEST_METHOD") in (
            "GET",
            "HEAD",
        ):
            ok = path == "/livez" or ready is None or ready()
            answer: dict[str, object] = {"ok": ok}
            if path != "/livez" and ready is not None:
                answer["broker"] = "reachable" if ok else "unreachable"
            body = json.dumps(answer).encode()
            status = "200 OK" if ok else "503 Service Unavailable"
            return _answer(start_response, status, body, "application/json")
        return not_found(start_response)

    return application


def serve_side(
    app: WSGIApplication, host: str, port: int, idle_timeout_s: int
) -> Callable[[], None]:
    """Serve `app` on a daemon thread (Socket Mode); returns how to stop it. Only Ekuaibao's
    small messages and probes come here: bodies are capped at MAX_EVENT_BYTES."""
    from bot.http import listen

    server = listen(
        app, host, port, threads=4, max_body=MAX_EVENT_BYTES, idle_timeout_s=idle_timeout_s
    )
    thread = threading.Thread(target=server.run, name="ekuaibao-events", daemon=True)
    thread.start()
    print(
        f"invoicebot: listening on http://{host}:{getattr(server, 'effective_port', port)} "
        "for Ekuaibao's approval messages and /healthz",
        flush=True,
    )
    return server.close
