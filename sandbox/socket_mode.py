"""A loopback stand-in for Slack's Socket Mode WebSocket side.

Slack hands out a one-time `wss://` URL from `apps.connections.open`, greets each
connection with `hello`, sends every payload as an envelope to one of the app's open
connections, expects `{"envelope_id"}` back within 3 s, and now and then asks the app to
move to a fresh connection (`disconnect`, `refresh_requested`) before closing the old one.
This stand-in does the same over ws://127.0.0.1, records each ack with its latency, and
has knobs for the ways a connection ends: a close frame, a TCP connection ended without
one (FIN or RST), and a peer that simply stops answering. Acks are accepted on any of the
app's connections, as slack_sdk sends them on its newest one.

Needs the `websockets` package (a dev extra): only tests, benchmarks and the demo use it.
"""

from __future__ import annotations

import asyncio
import http
import itertools
import json
import secrets
import socket
import struct
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

__all__ = ["Ack", "Connection", "SocketModeStandIn"]

APP_ID = "A0SANDBOX"
ACK_DEADLINE_S = 3.0


@dataclass(frozen=True)
class Ack:
    envelope_id: str
    payload: dict[str, Any] | None
    connection: int  # Connection.number it arrived on
    latency_s: float  # since the envelope was sent


#: How long a send may wait: one on a connection whose close frame arrived meanwhile waits
#: for the close handshake instead of writing, and is then made on another connection.
SEND_WAIT_S = 1.0


@dataclass
class Connection:
    number: int
    opened_at: float  # time.monotonic()
    ws: ServerConnection = field(repr=False)
    hello_at: float | None = None
    closed_at: float | None = None
    refresh_requested: bool = False
    frozen: bool = False  # stopped reading and sending: a dead peer


@dataclass
class _Sent:
    envelope: dict[str, Any]
    connection: int
    at: float


class SocketModeStandIn:
    """Socket Mode on loopback, with fault knobs. Thread-safe; its event loop runs in a thread."""

    def __init__(self, *, host: str = "127.0.0.1", app_token: str = "xapp-1-A0SANDBOX-sandbox"):
        self.host = host
        self.app_token = app_token
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._tickets: set[str] = set()
        #: Every ticket handed out: a secret, like the URL that carries it.
        self.tickets_issued: list[str] = []
        self._refuse: list[int] = []  # HTTP statuses for the next handshakes
        self._connections: list[Connection] = []
        self._sent: dict[str, _Sent] = {}
        self._acks: list[Ack] = []
        self._unknown_acks: list[dict[str, Any]] = []
        self._next = itertools.count(1)
        self._conn_seq = itertools.count(1)
        self._round_robin = itertools.count()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="socket-mode-stand-in", daemon=True
        )
        self._server: Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    # lifecycle -------------------------------------------------------------------------

    def start(self) -> SocketModeStandIn:
        self._thread.start()
        self._server = self._call(self._serve())
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _serve(self) -> Server:
        return await serve(
            self._handle,
            self.host,
            0,
            process_request=self._check_ticket,
            ping_interval=None,  # Slack pings the app; the stand-in only answers pings
            compression=None,
        )

    def stop(self) -> None:
        for conn in self.connections:  # a frozen peer would hold up a closing handshake
            self._loop.call_soon_threadsafe(conn.ws.transport.abort)
        if self._server is not None:
            self._server.close()
            self._call(self._server.wait_closed())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def __enter__(self) -> SocketModeStandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # apps.connections.open ---------------------------------------------------------------

    def new_url(self) -> str:
        """A one-time WebSocket URL, as `apps.connections.open` returns it."""
        ticket = secrets.token_hex(16)
        with self._lock:
            self._tickets.add(ticket)
            self.tickets_issued.append(ticket)
        return f"ws://{self.host}:{self.port}/link/?ticket={ticket}&app_id={APP_ID}"

    def refuse_next(self, n: int, status: int = 503) -> None:
        """The next n WebSocket handshakes are answered with HTTP ``status``."""
        with self._lock:
            self._refuse.extend([status] * n)

    # connections -------------------------------------------------------------------------

    @property
    def connections(self) -> list[Connection]:
        with self._lock:
            return list(self._connections)

    def open_connections(self) -> list[Connection]:
        """Connections that got `hello` and are neither closed nor frozen."""
        with self._lock:
            return self._open()

    def _open(self) -> list[Connection]:
        """Connections Slack would send on: greeted, not frozen, and not closing (a client
        that sent its close frame gets no more envelopes; a send there would wait for the
        close handshake to end)."""
        return [
            c
            for c in self._connections
            if c.hello_at is not None
            and c.closed_at is None
            and not c.frozen
            and c.ws.state is State.OPEN
        ]

    def wait_connections(self, n: int, timeout: float = 10.0) -> Connection:
        """Block until the n-th connection got its `hello`; returns that connection."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                greeted = [c for c in self._connections if c.hello_at is not None]
                if len(greeted) >= n:
                    return greeted[n - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"expected {n} Socket Mode connection(s) within {timeout:.1f}s, "
                        f"got {len(greeted)}"
                    )
                self._changed.wait(left)

    def wait_open(self, timeout: float = 10.0) -> Connection:
        """Block until some connection is open (greeted, not closed or frozen)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                live = self._open()
                if live:
                    return live[-1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no open Socket Mode connection within {timeout:.1f}s")
                self._changed.wait(left)

    def request_refresh(self, close_after: float = 10.0) -> Connection:
        """`disconnect` (`refresh_requested`) on the newest connection; close it later."""
        conn = self.wait_open(timeout=0.1)
        conn.refresh_requested = True
        message = {
            "type": "disconnect",
            "reason": "refresh_requested",
            "debug_info": {"host": "applink-sandbox"},
        }
        self._call(conn.ws.send(json.dumps(message)))
        self._loop.call_soon_threadsafe(
            self._loop.call_later, close_after, self._close_soon, conn, 1000, "refreshed"
        )
        return conn

    def close(self, conn: Connection, code: int = 1001, reason: str = "going away") -> None:
        """A close frame from Slack's side (the closing handshake finishes in the background)."""
        self._loop.call_soon_threadsafe(self._close_soon, conn, code, reason)

    def drop(self, conn: Connection, *, reset: bool = False) -> None:
        """End the TCP connection without a close frame: a FIN, or with ``reset`` a RST."""
        transport = conn.ws.transport
        if reset:
            sock = transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self._loop.call_soon_threadsafe(transport.abort)
        else:
            self._loop.call_soon_threadsafe(transport.close)

    def freeze(self, conn: Connection) -> None:
        """Stop reading and sending on the connection: pings go unanswered, TCP stays up."""
        with self._lock:
            conn.frozen = True
            self._changed.notify_all()
        self._loop.call_soon_threadsafe(conn.ws.transport.pause_reading)

    def _close_soon(self, conn: Connection, code: int, reason: str) -> None:
        if conn.closed_at is None and not conn.frozen:
            task = self._loop.create_task(conn.ws.close(code, reason))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    # envelopes -----------------------------------------------------------------------------

    def send(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool | None = None,
        escape_slashes: bool = False,
    ) -> str:
        """Send one envelope to one open connection (round robin, as Slack picks one).

        ``kind`` is `slash_commands`, `events_api` or `interactive`. With ``escape_slashes``
        the JSON writes `/` as `\\/`, as Slack's encoder does.
        """
        envelope_id = f"{secrets.token_hex(4)}-{next(self._next):04d}"
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": (
                kind != "events_api"
                if accepts_response_payload is None
                else accepts_response_payload
            ),
        }
        if kind == "events_api":
            envelope["retry_attempt"] = 0
            envelope["retry_reason"] = ""
        text = json.dumps(envelope)
        if escape_slashes:
            text = text.replace("/", "\\/")
        for _ in range(3):  # a connection may close between picking it and sending
            with self._lock:
                live = self._open()
                if not live:
                    raise RuntimeError("no open Socket Mode connection to send an envelope on")
                conn = live[next(self._round_robin) % len(live)]
                self._sent[envelope_id] = _Sent(envelope, conn.number, time.monotonic())
            try:
                self._call(asyncio.wait_for(conn.ws.send(text), SEND_WAIT_S))
            except ConnectionClosed:
                with self._lock:
                    conn.closed_at = conn.closed_at or time.monotonic()
                continue
            except TimeoutError:
                if conn.ws.state is State.OPEN:
                    raise
                continue  # its close frame came in first: the send waited, wrote nothing
            return envelope_id
        raise RuntimeError("every Socket Mode connection closed while sending")

    @property
    def acks(self) -> list[Ack]:
        with self._lock:
            return list(self._acks)

    @property
    def unknown_acks(self) -> list[dict[str, Any]]:
        """Acks for envelope ids never sent, and frames that were not acks at all."""
        with self._lock:
            return list(self._unknown_acks)

    def acks_for(self, envelope_id: str) -> list[Ack]:
        with self._lock:
            return [a for a in self._acks if a.envelope_id == envelope_id]

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> Ack:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                got = [a for a in self._acks if a.envelope_id == envelope_id]
                if got:
                    return got[0]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"envelope {envelope_id} not acked within {timeout:.1f}s")
                self._changed.wait(left)

    # server side -----------------------------------------------------------------------------

    def _call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    def _check_ticket(self, conn: ServerConnection, request: Request) -> Response | None:
        ticket = request.path.partition("ticket=")[2].partition("&")[0]
        with self._lock:
            if self._refuse:
                status = self._refuse.pop(0)
                return conn.respond(http.HTTPStatus(status), "refused by the stand-in\n")
            if ticket not in self._tickets:
                return conn.respond(http.HTTPStatus.UNAUTHORIZED, "invalid ticket\n")
            self._tickets.discard(ticket)  # one use, like Slack's
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        with self._lock:
            conn = Connection(number=next(self._conn_seq), opened_at=time.monotonic(), ws=ws)
            self._connections.append(conn)
            num = len(self._open()) + 1
        hello = {
            "type": "hello",
            "num_connections": num,
            "debug_info": {"host": "applink-sandbox", "approximate_connection_time": 18060},
            "connection_info": {"app_id": APP_ID},
        }
        try:
            await ws.send(json.dumps(hello))
            with self._lock:
                conn.hello_at = time.monotonic()
                self._changed.notify_all()
            async for frame in ws:
                self._on_frame(conn, frame)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                conn.closed_at = time.monotonic()
                self._changed.notify_all()

    def _on_frame(self, conn: Connection, frame: str | bytes) -> None:
        now = time.monotonic()
        try:
            message = json.loads(frame)
        except ValueError:
            message = None
        with self._lock:
            if not isinstance(message, dict) or "envelope_id" not in message:
                self._unknown_acks.append({"_raw": str(frame)[:200]})
            elif (sent := self._sent.get(str(message["envelope_id"]))) is None:
                self._unknown_acks.append(message)
            else:
                payload = message.get("payload")
                self._acks.append(
                    Ack(
                        envelope_id=str(message["envelope_id"]),
                        payload=payload if isinstance(payload, dict) else None,
                        connection=conn.number,
                        latency_s=now - sent.at,
                    )
                )
            self._changed.notify_all()
