"""Embedded Celery/kombu broker: a kombu virtual transport on a stdlib ``sqlite3`` file.

Why it exists: ``invoicebot demo``/``serve`` must work on a machine without Redis or
RabbitMQ and must not lose queued tasks across a restart.  kombu's own server-less
transports do not qualify (see docs/embedded-broker.md): ``filesystem://`` can read a
message file before its writer has finished and deletes messages on *get*, and
``sqla+sqlite://`` never acks or redelivers and needs SQLAlchemy.

Usage::

    from tasks.broker.embedded import embedded_url, register

    register()  # in every process that talks to the broker, before the first connection
    app = Celery(broker=embedded_url(Path("/var/lib/invoicebot/broker.sqlite3")))

Semantics:

* One ``messages`` table; ``_put`` is a single INSERT.  ``_get`` claims the oldest
  unclaimed row of a queue (``UPDATE ... RETURNING`` inside ``BEGIN IMMEDIATE``); the row
  stays in the table until the message is acked (DELETE) or rejected.  Requeue and
  restore-at-shutdown just clear the claim, so the message keeps its place in line.
* Each claim records its owner ``"<hostname>:<pid>:<token>"``.  The owning process holds
  an exclusive ``flock`` on ``<db>.owners/<token>.lock`` for its whole life; the kernel
  drops that lock when the process dies however it dies (SIGKILL, OOM, power-off).
  A claim whose lock can be taken therefore belongs to a dead process and is released
  for redelivery (checked on channel open and at most every ``recovery_interval`` s from
  ``_get``).  A lock is more reliable than "is that pid alive": pids get reused, and a
  recreated container has the same pids under a different hostname.
* Redelivered messages carry ``delivery_info["redelivered"] = True`` (via a per-row
  ``deliveries`` counter, which also fences stale acks: an ack only deletes the delivery
  it was issued for).
* Queues only; fanout exchanges are not shared between processes (no broadcast, so
  Celery remote control / ``celery inspect`` cannot reach workers).
* Single host only: SQLite WAL needs shared memory, so every producer and worker must run
  on the machine (kernel) that holds the file.  Not for network file systems.

Transport options (``broker_transport_options``): ``path`` (used when the URL is just
``embedded://``), ``polling_interval`` (s, default 0.02), ``recovery_interval`` (s,
default 2.0), ``busy_timeout`` (s, default 10.0), ``synchronous`` ("FULL" default, or
"NORMAL").
"""

from __future__ import annotations

import sqlite3
from typing import Any

from kombu.transport import TRANSPORT_ALIASES, virtual

from tasks.broker.embedded_channel import Channel, QoS
from tasks.broker.embedded_store import DEFAULT_POLLING_INTERVAL, SCHEME, embedded_url

__all__ = ["SCHEME", "Channel", "QoS", "Transport", "embedded_url", "register"]

_TRANSPORT_PATH = "tasks.broker.embedded:Transport"


def register() -> None:
    """Make ``embedded://`` resolvable by kombu (and so by Celery).  Idempotent.

    Must run in every process that opens the broker (bot, worker, CLI tools) before the
    first connection, e.g. next to the ``Celery(...)`` app definition.
    """
    TRANSPORT_ALIASES[SCHEME] = _TRANSPORT_PATH


class Transport(virtual.Transport):
    """kombu transport for ``embedded:///abs/path/broker.sqlite3``."""

    Channel = Channel

    can_parse_url = True  # kombu hands us the whole URL as ``hostname``
    polling_interval = DEFAULT_POLLING_INTERVAL
    default_port = None
    driver_type = "sqlite"
    driver_name = "sqlite3"
    # "database is locked" after busy_timeout, I/O errors: let kombu/Celery retry.
    connection_errors = (*virtual.Transport.connection_errors, sqlite3.OperationalError)

    def driver_version(self) -> str:
        return sqlite3.sqlite_version

    def as_uri(self, uri: str, include_password: bool = False, mask: str = "**") -> str:
        return uri  # no credentials in these URLs

    @property
    def default_connection_params(self) -> dict[str, Any]:
        return {"port": None, "hostname": None}
