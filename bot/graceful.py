"""Stopping the HTTP server without dropping an acknowledgement.

waitress has no graceful stop: closing the server drops every open connection, so a
command whose ack was being written when SIGTERM came would get a reset instead, and
Slack would show the user an error for a lookup that was in fact queued. So we run
waitress's loop ourselves: on stop, close the listening socket (new connections are
refused), keep serving the connections already open until their requests are answered
(bounded), close idle keep-alive connections, then shut the threads down.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, cast

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, MultiSocketServer

log = logging.getLogger("invoicebot")

#: How long requests already received may take to finish after a stop was asked for.
DRAIN_S = 10.0
#: How often the loop looks at the stop flag (a signal does not interrupt its select()).
POLL_S = 0.2
#: An open connection with nothing to do for this long is idle, and closed on stop.
IDLE_S = 0.5


def serve_until(
    server: MultiSocketServer | BaseWSGIServer, stop: threading.Event, drain_s: float = DRAIN_S
) -> int:
    """Serve until `stop` is set, then drain; returns how many connections were cut."""
    socket_map = _socket_map(server)
    use_poll = server.adj.asyncore_use_poll
    while not stop.is_set():
        wasyncore.loop(timeout=POLL_S, use_poll=use_poll, map=socket_map, count=1)
    for listener in [d for d in socket_map.values() if isinstance(d, BaseWSGIServer)]:
        # Connections the kernel has already completed would be reset by the close: take
        # them in first; their requests are served below like any other.
        while True:
            before = len(socket_map)
            listener.handle_accept()
            if len(socket_map) == before:
                break
        # only the listening socket: the server's trigger still wakes the loop for replies
        wasyncore.dispatcher.close(listener)
    deadline = time.monotonic() + drain_s
    while True:
        now = time.monotonic()
        channels = [d for d in socket_map.values() if isinstance(d, HTTPChannel)]
        for channel in channels:
            if _idle(channel, time.time()):
                channel.will_close = True
        if not channels:
            cut = 0
            break
        if now >= deadline:
            cut = len(channels)
            log.warning("%d connection(s) still busy after %g s; closing them", cut, drain_s)
            break
        wasyncore.loop(timeout=0.05, use_poll=use_poll, map=socket_map, count=1)
    server.task_dispatcher.shutdown(timeout=1)
    wasyncore.close_all(socket_map)
    return cut


def _idle(channel: HTTPChannel, now: float) -> bool:
    """Nothing received, running or left to send, for a while (a client whose request is
    still on the way has just connected, so it is not idle yet)."""
    return (
        not channel.requests
        and channel.request is None
        and not channel.total_outbufs_len
        and now - channel.last_activity >= IDLE_S
    )


def _socket_map(server: MultiSocketServer | BaseWSGIServer) -> dict[int, Any]:
    if isinstance(server, MultiSocketServer):
        assert server.map is not None
        return cast(dict[int, Any], server.map)
    return cast(dict[int, Any], server._map)  # type: ignore[attr-defined]
