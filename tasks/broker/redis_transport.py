"""kombu's Redis transport, with leases renewed and one Redis client per channel.

Leases: kombu redelivers a message that stayed unacknowledged for `visibility_timeout`,
whether its worker died or is simply still holding it (a lookup waiting out a retry
countdown holds its message for up to 5 minutes). So the timeout had to be long, and a
killed worker's lookups came back only after it. Here each worker re-stamps, every few
seconds, the messages it holds, so a short timeout only ever catches a dead worker's:
from the event loop's timer (threads pool), or from the consumer's blocking loop (gevent,
which also restores dead workers' messages from there: see `Transport.drain_events`).

One client: kombu builds a new `redis.Redis` for every publish and every delivery and ack
bookkeeping step (`Channel.conn_or_acquire`). With redis-py 5 and later each construction
copies its table of ~200 response callbacks: measured at ~7 % of a busy worker's CPU
(py-spy, bench at 50 req/s). A `redis.Redis` is thread-safe (each command takes a
connection from the channel's pool), so one per channel serves every caller; it is rebuilt
if kombu replaces the pool (after a reconnect).

Bookkeeping in one command: kombu records each delivered message (ZADD + HSET) and each
ack (ZREM + HDEL) as a MULTI/EXEC pipeline, four commands and four replies for redis-py
to pack and parse; that was ~20 % of a busy worker's GIL time (py-spy, 100 req/s). The
same keys, written by one Lua script each, are one command and one reply, and stay atomic.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Any

from kombu.transport import redis as kombu_redis
from kombu.transport import virtual
from kombu.utils.json import dumps
from redis.commands.core import Script

log = logging.getLogger(__name__)

#: For Celery's `broker_transport`: the URL stays `redis://…`.
TRANSPORT = "tasks.broker.redis_transport:Transport"


#: KEYS: the unacked index and table; ARGV: tag, time, the message as kombu stores it.
_HOLD = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
"""
#: KEYS: the unacked index and table; ARGV: tag.
_RELEASE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
"""


class QoS(kombu_redis.QoS):
    """kombu's ack emulation, the same keys and values, each step in one script call."""

    _hold: Script | None = None
    _release: Script | None = None

    def append(self, message: Any, delivery_tag: str) -> None:
        delivery = message.delivery_info
        raw = dumps([message._raw, delivery["exchange"], delivery["routing_key"]])
        channel: Any = self.channel
        with channel.conn_or_acquire() as client:
            if self._hold is None:
                self._hold = client.register_script(_HOLD)
            keys = [self.unacked_index_key, self.unacked_key]
            self._hold(keys, [delivery_tag, time.time(), raw], client=client)
        virtual.QoS.append(self, message, delivery_tag)

    def ack(self, delivery_tag: str) -> None:
        channel: Any = self.channel
        with channel.conn_or_acquire() as client:
            if self._release is None:
                self._release = client.register_script(_RELEASE)
            keys = [self.unacked_index_key, self.unacked_key]
            self._release(keys, [delivery_tag], client=client)
        virtual.QoS.ack(self, delivery_tag)


class Channel(kombu_redis.Channel):
    QoS = QoS
    _shared_client: Any = None

    @contextlib.contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        if client:
            yield client
            return
        shared = self._shared_client
        if shared is None or shared.connection_pool is not self.pool:
            shared = self._shared_client = self._create_client()  # type: ignore[attr-defined]
        yield shared

    def renew_leases(self, held: set[str]) -> int:
        """Re-stamp the messages of this channel that the worker still holds; returns how
        many.

        Only `held` ones: a task that failed leaves its message unacknowledged on purpose
        (to be redelivered), so its lease must lapse. `xx`: a message acked meanwhile is
        not put back into the index.
        """
        qos: Any = self.qos
        tags = [tag for tag in list(qos._delivered) if tag in held and tag not in qos._dirty]
        if not tags:
            return 0
        now = time.time()
        with self.conn_or_acquire() as client:
            client.zadd(self.unacked_index_key, dict.fromkeys(tags, now), xx=True)
        return len(tags)


def held_delivery_tags() -> set[str]:
    """Messages whose task this worker is running, or waiting to run (a retry's countdown
    included): Celery forgets a request once its task has finished, however it ended.

    The sets of request objects, not `state.requests`: that one is keyed by task id, and a
    retry's new message carries the id of the attempt that published it, so the attempt's
    end would drop the retry too.
    """
    from celery.worker import state

    scheduled = getattr(state, "scheduled_requests", ())  # ETAs; not in celery-types' stubs
    held = [*scheduled, *state.reserved_requests, *state.active_requests]
    return {request.message.delivery_tag for request in held}


def lease_interval(visibility_timeout: float) -> float:
    """Renew well inside the timeout, so one late renewal never lets a lease lapse."""
    return max(1.0, min(10.0, visibility_timeout / 4))


def _leases_every(connection: Any) -> float:
    """How often this connection's worker renews its leases, from its visibility timeout."""
    options = connection.client.transport_options
    return lease_interval(options.get("visibility_timeout", kombu_redis.Channel.visibility_timeout))


class Transport(kombu_redis.Transport):
    Channel = Channel

    def register_with_event_loop(self, connection: Any, loop: Any) -> None:
        super().register_with_event_loop(connection, loop)
        cycle: Any = self.cycle
        old = getattr(cycle, "_lease_tref", None)
        if old is not None:  # a reconnect registers again
            old.cancel()
        cycle._lease_tref = loop.call_repeatedly(_leases_every(connection), self._renew, cycle)

    _next_renewal = 0.0
    _next_restore = 0.0

    def drain_events(self, connection: Any, timeout: float | None = None, **kwargs: Any) -> None:
        """Green pools (gevent) have no event loop, so no timers: the consumer's blocking
        loop comes through here at least every 2 s, and does their two jobs when due.

        Renewing the leases this worker holds, and restoring a dead worker's messages:
        kombu's blocking `get` only restores after a poll that saw nothing, but a BRPOP
        that times out on the server wakes the poll too, so an idle or busy green worker
        never restored anything (a killed worker's lookup was never answered).
        """
        now = time.monotonic()
        if now >= self._next_renewal:
            self._next_renewal = now + _leases_every(connection)
            self._renew(self.cycle)
        if now >= self._next_restore:
            restore_s = connection.client.transport_options.get("unacked_restore_interval", 5)
            self._next_restore = now + max(1.0, float(restore_s))
            cycle: Any = self.cycle
            cycle.maybe_restore_messages()
        super().drain_events(connection, timeout=timeout, **kwargs)

    @staticmethod
    def _renew(cycle: Any) -> None:
        held = held_delivery_tags()
        for channel in list(cycle._channels):
            try:
                channel.renew_leases(held)
            except channel.connection_errors:  # the poll loop reconnects; renew next tick
                log.debug("lease renewal skipped: Redis connection error", exc_info=True)
