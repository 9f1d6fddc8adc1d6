"""`invoicebot serve` in Socket Mode: Bolt's websocket-client adapter, with the fixes it needs.

Measured against the other clients Bolt supports in docs/socket-mode.md. slack_sdk's
websocket-client client on its own defaults never notices a peer that stops answering
(it pings without a pong timeout), closes the old connection before the new one is
open on a refresh (acks in that window are dropped), and its `connect()` returns before
the handshake, so a refused connection looked like a success. `HelloAwareClient` fixes
exactly these and leaves the rest to slack_sdk.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import socket
import threading
import time
from typing import Any

from slack_bolt.adapter.socket_mode.websocket_client import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.websocket_client import SocketModeClient
from websocket import WebSocketApp, WebSocketBadStatusException, WebSocketException

from tasks.settings import Settings, fail

log = logging.getLogger("invoicebot.socket_mode")

#: We ping every PING_INTERVAL_S; a connection with no pong for STALE_AFTER_S is torn down,
#: checked every WATCHDOG_S: a dead peer is noticed within about 4 s.
PING_INTERVAL_S = 1.0
STALE_AFTER_S = 3.5
WATCHDOG_S = 0.5
HELLO_TIMEOUT_S = 10.0
MAX_BACKOFF_S = 30.0
#: How long a retired connection may take to finish its closing handshake.
RETIRE_WAIT_S = 5.0


class SocketModeRefused(Exception):
    """The WebSocket connection never said hello; the message is safe to print."""


class HelloAwareClient(SocketModeClient):
    """websocket-client Socket Mode client: connected means `hello` arrived.

    Each session runs in its own thread, so on a refresh the old connection keeps
    receiving (and carrying acks) until the new one is greeted, and only then is closed.
    Reconnects back off (0.5 s doubling to 30 s) while no connection gets its hello.
    """

    def __init__(
        self,
        app_token: str,
        *,
        web_client: WebClient,
        logger: logging.Logger,
        concurrency: int = 10,
    ) -> None:
        super().__init__(
            app_token,
            logger=logger,
            web_client=web_client,
            ping_interval=PING_INTERVAL_S,
            concurrency=concurrency,
        )
        self.current_app_monitor.interval_seconds = WATCHDOG_S
        self._greeted = threading.Event()
        self._failed: Exception | None = None
        self._ended = threading.Event()  # the first session ended before its hello
        self._retiring: list[WebSocketApp] = []
        self._attempts = 0  # connection attempts since the last hello
        self._retire_lock = threading.Lock()
        self._opened_at: dict[int, float] = {}  # id(session) -> when its thread started
        self.on_message_listeners.append(self._on_frame)

    # start-up ------------------------------------------------------------------------------

    def connect_and_wait(self, timeout: float = HELLO_TIMEOUT_S) -> None:
        """Connect and return once Slack said hello; SocketModeRefused otherwise."""
        self.connect_to_new_endpoint(force=True)
        deadline = time.monotonic() + timeout
        while not self._greeted.wait(0.05):
            if self._ended.is_set() or time.monotonic() > deadline:
                raise SocketModeRefused(_describe(self._failed, timeout))

    # connections ---------------------------------------------------------------------------

    def connect_to_new_endpoint(self, force: bool = False) -> None:
        if self.closed or not (force or not self.is_connected()):
            return
        if not self._greeted.is_set() and self._attempts > 0:
            return  # start-up: connect_and_wait() decides, with no retries behind its back
        if self._attempts > 0:
            time.sleep(min(MAX_BACKOFF_S, 0.5 * 2 ** (self._attempts - 1)))
        self._attempts += 1
        super().connect_to_new_endpoint(force)

    def connect(self) -> None:
        previous = self.current_session
        if previous is not None:  # retired once the new connection says hello
            with self._retire_lock:
                self._retiring.append(previous)
        self.current_session = None  # the base class would close it before the new one is open
        super().connect()
        session = self.current_session
        threading.Thread(
            target=self._run_session, args=(session,), name="socket-mode-session", daemon=True
        ).start()

    def _run_current_session(self) -> None:
        """Sessions run in their own threads (see connect); the base runner has nothing to do."""

    def _run_session(self, session: WebSocketApp) -> None:
        def on_error(ws: WebSocketApp, error: Exception) -> None:
            if ws is self.current_session and not self._greeted.is_set():
                self._failed = self._failed or error

        session.on_error = _chain(session.on_error, on_error)
        self._opened_at[id(session)] = time.time()
        try:
            session.run_forever(
                ping_interval=PING_INTERVAL_S,
                http_proxy_host=self.http_proxy_host,
                http_proxy_port=self.http_proxy_port,
                http_proxy_auth=self.http_proxy_auth,
                proxy_type=self.proxy_type,
            )
        except Exception as exc:  # run_forever reports through on_error; this is a last resort
            self.logger.error("Socket Mode session failed (%s)", type(exc).__name__)
        self._opened_at.pop(id(session), None)
        if session is self.current_session and not self._greeted.is_set():
            self._ended.set()

    def _monitor_current_session(self) -> None:
        """The watchdog: websocket-client alone never notices a peer that stopped answering.

        (Its own ping_timeout check only fires in a window between two pings, so it can
        take several intervals.) Shutting the socket down wakes the session's reader, and
        the normal on_close path reconnects.
        """
        session = self.current_session
        ws = getattr(session, "sock", None)
        if session is not None and ws is not None and ws.connected:
            heard = max(session.last_pong_tm, self._opened_at.get(id(session), time.time()))
            if time.time() - heard > STALE_AFTER_S:
                self.logger.warning(
                    "No pong from Slack for %.0f s: reconnecting Socket Mode", time.time() - heard
                )
                with contextlib.suppress(OSError):
                    ws.sock.shutdown(socket.SHUT_RDWR)
                return
        super()._monitor_current_session()  # type: ignore[no-untyped-call]

    def _on_frame(self, ws: WebSocketApp, message: str) -> None:
        if '"hello"' not in message or json.loads(message).get("type") != "hello":
            return
        if ws is not self.current_session:
            return
        self._attempts = 0
        self._greeted.set()
        with self._retire_lock:
            retiring, self._retiring = self._retiring, []
        for old in retiring:
            _retire(old)

    def send_message(self, message: str) -> None:
        """Send on the newest open connection: during a refresh that may be the old one."""
        with self._retire_lock:
            sessions = [self.current_session, *reversed(self._retiring)]
        for session in sessions:
            sock = getattr(session, "sock", None)
            if session is not None and sock is not None and sock.connected:
                try:
                    session.send(message)
                    return
                except WebSocketException:
                    continue
        super().send_message(message)

    def close(self) -> None:
        with self._retire_lock:
            retiring, self._retiring = self._retiring, []
        for old in retiring:
            old.close()
        super().close()


def _retire(old: WebSocketApp) -> None:
    """Send the old connection our close frame and keep its reader running until Slack's
    answers it. An envelope Slack sent on it before our frame arrived is still handled
    (and acked on the new connection); `close()` would read, and drop, such frames itself.

    Once Slack's close frame is read, the socket is shut at once: websocket-client's own
    teardown skips it after our frame (it thinks the connection already closed), which
    would leave Slack waiting on its half of the handshake. Forced after RETIRE_WAIT_S
    should Slack never answer."""
    sock: Any = old.sock  # websocket-client's WebSocket: its shutdown() is untyped
    if sock is None or not sock.connected:
        old.close()
        return
    with contextlib.suppress(WebSocketException, OSError):
        sock.send_close()
    old.on_close = _then_shut(old.on_close, sock)

    def force() -> None:
        old.close()
        sock.shutdown()

    timer = threading.Timer(RETIRE_WAIT_S, force)
    timer.daemon = True
    timer.start()


def _then_shut(first: Any, sock: Any) -> Any:
    def closed(ws: WebSocketApp, *args: Any) -> None:
        sock.shutdown()
        if first is not None:
            first(ws, *args)

    return closed


def _chain(first: Any, second: Any) -> Any:
    def both(ws: WebSocketApp, error: Exception) -> None:
        if first is not None:
            first(ws, error)
        second(ws, error)

    return both


def _describe(error: Exception | None, timeout: float) -> str:
    if isinstance(error, WebSocketBadStatusException):
        return f"Slack refused the Socket Mode connection (HTTP {error.status_code})"
    if error is not None:
        return f"could not open the Socket Mode connection ({type(error).__name__})"
    return f"no hello from Slack's Socket Mode endpoint within {timeout:.0f} s"


class _BoltHandler(SocketModeHandler):
    """Bolt's websocket-client handler, on our client instead of the one it would build."""

    def __init__(self, app: Any, client: HelloAwareClient) -> None:
        self.app = app
        self.app_token = client.app_token
        self.client = client
        client.socket_mode_request_listeners.append(self.handle)  # type: ignore[arg-type]


def serve_socket_mode(app: object, settings: Settings, broker: str) -> None:
    assert settings.slack_app_token is not None
    client = HelloAwareClient(
        settings.slack_app_token.get_secret_value(),
        web_client=WebClient(base_url=settings.slack_api_url),
        logger=log,
    )
    _BoltHandler(app, client)
    try:
        client.connect_and_wait()
    except SlackApiError as exc:
        client.close()
        fail(
            f"Slack refused SLACK_APP_TOKEN ({exc.response.get('error', 'error')}): use an "
            "app-level token with the connections:write scope"
        )
    except SocketModeRefused as exc:
        client.close()
        fail(f"{exc}; check that Slack is reachable and try again")
    except OSError as exc:
        client.close()
        fail(f"could not reach Slack at SLACK_API_URL ({type(exc).__name__})")
    print(f"invoicebot: connected in Socket Mode (broker: {broker})", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stopped.set())
    signal.signal(signal.SIGINT, lambda signum, frame: stopped.set())
    stopped.wait()
    client.close()
