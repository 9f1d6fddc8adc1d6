"""The embedded transport's kombu Channel and QoS: claim, ack, requeue and recover
messages in the SQLite file (tasks/broker/embedded.py has the design)."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from queue import Empty
from typing import Any

from kombu.transport import virtual
from kombu.utils.json import dumps, loads

from tasks.broker.embedded_store import (
    DEFAULT_BUSY_TIMEOUT,
    DEFAULT_RECOVERY_INTERVAL,
    DEFAULT_SYNCHRONOUS,
    SYNC_MODES,
    connect,
    current_owner,
    db_path,
    owner_alive,
    owner_for,
    owners_dir,
    sweep_owner_files,
)

logger = logging.getLogger("tasks.broker.embedded")

_SQL_PEEK = "SELECT 1 FROM messages WHERE queue = ? AND claimed_by IS NULL LIMIT 1"
_SQL_CLAIM = (
    "UPDATE messages SET claimed_by = ?, claimed_at = ?, deliveries = deliveries + 1"
    " WHERE id = (SELECT id FROM messages WHERE queue = ? AND claimed_by IS NULL"
    " ORDER BY id LIMIT 1) RETURNING id, payload, deliveries"
)
_SQL_TAKE = (
    "DELETE FROM messages WHERE id = (SELECT id FROM messages WHERE queue = ?"
    " AND claimed_by IS NULL ORDER BY id LIMIT 1) RETURNING id, payload, deliveries + 1"
)
_SQL_ACK = "DELETE FROM messages WHERE id = ? AND deliveries = ?"
_SQL_UNCLAIM = (
    "UPDATE messages SET claimed_by = NULL, claimed_at = NULL WHERE id = ? AND deliveries = ?"
)
_SQL_OWNERS = "SELECT DISTINCT claimed_by FROM messages WHERE claimed_by IS NOT NULL"
_SQL_RELEASE = "UPDATE messages SET claimed_by = NULL, claimed_at = NULL WHERE claimed_by = ?"


def _parse_tag(delivery_tag: Any) -> tuple[int, int] | None:
    row_id, _, deliveries = str(delivery_tag).partition(".")
    try:
        return int(row_id), int(deliveries)
    except ValueError:
        return None


# --- kombu classes ----------------------------------------------------------------------


class QoS(virtual.QoS):
    """Ack deletes the row; reject(requeue)/restore clears the claim instead of re-publishing.

    The base class re-publishes a copy on requeue/restore (new row at the tail, old row
    orphaned); clearing the claim keeps the message's place and its delivery count.
    """

    channel: Channel

    def ack(self, delivery_tag: str) -> None:
        self.channel._settle(delivery_tag, requeue=False)
        super().ack(delivery_tag)  # marks the tag done in the in-memory bookkeeping

    def reject(self, delivery_tag: str, requeue: bool = False) -> None:
        self.channel._settle(delivery_tag, requeue=requeue)
        super().ack(delivery_tag)  # not super().reject(): that would re-publish a copy

    # kombu's stub says None, but restore_unacked_once() consumes this error list.
    def restore_unacked(self) -> list[tuple[BaseException, Any]]:  # type: ignore[override]
        errors: list[tuple[BaseException, Any]] = []
        delivered, dirty = self._delivered, self._dirty
        if delivered is None or dirty is None:
            return errors
        while delivered:
            try:
                tag, message = delivered.popitem()
            except KeyError:  # pragma: no cover - emptied concurrently
                break
            if tag in dirty:  # acked/rejected (possibly by another thread) meanwhile
                continue
            try:
                self.channel._settle(tag, requeue=True)
            except Exception as exc:
                errors.append((exc, message))
        dirty.clear()
        return errors


class Channel(virtual.Channel):
    """One SQLite connection per channel, serialised by a lock."""

    QoS = QoS
    supports_fanout = False

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        super().__init__(connection, **kwargs)
        client = self.connection.client
        if client is None:  # pragma: no cover - kombu always sets it
            raise RuntimeError("embedded broker channel without a kombu Connection")
        options: Mapping[str, Any] = client.transport_options or {}
        self._path = db_path(client.hostname, options)
        self._busy_timeout = float(options.get("busy_timeout", DEFAULT_BUSY_TIMEOUT))
        self._recovery_interval = float(options.get("recovery_interval", DEFAULT_RECOVERY_INTERVAL))
        synchronous = str(options.get("synchronous", DEFAULT_SYNCHRONOUS)).upper()
        if synchronous not in SYNC_MODES:
            raise ValueError(f"synchronous must be one of {sorted(SYNC_MODES)}")
        self._synchronous = synchronous
        self._created_pid = os.getpid()
        self._db_pid = os.getpid()
        self._lock = threading.RLock()
        self._db_conn: sqlite3.Connection | None = None
        self._db_closed = False
        self._noack_queues: set[str] = set()
        self._next_recovery = 0.0
        with self._conn():
            pass  # open now so a bad path/permission fails at connect time
        self._recover(sweep=True)

    # -- connection handling --

    @contextlib.contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        if self._db_pid != os.getpid():
            # Forked: never touch the parent's handle (not even to close it).
            self._lock = threading.RLock()
            self._db_conn = None
            self._db_pid = os.getpid()
        with self._lock:
            if self._db_closed:  # e.g. a late ack after the channel closed
                db = connect(self._path, self._busy_timeout, self._synchronous)
                try:
                    yield db
                finally:
                    db.close()
                return
            if self._db_conn is None:
                self._db_conn = connect(self._path, self._busy_timeout, self._synchronous)
            yield self._db_conn

    def close(self) -> None:
        if self.closed:
            return
        super().close()  # restores unacked messages through QoS while the db is open
        with self._lock:
            if self._db_conn is not None and self._db_pid == os.getpid():
                self._db_conn.close()
            self._db_conn = None
            self._db_closed = True

    # -- kombu virtual channel API --

    def _put(self, queue: str, message: dict[str, Any], **kwargs: Any) -> None:
        payload = dumps(message)
        with self._conn() as db:
            db.execute("INSERT INTO messages (queue, payload) VALUES (?, ?)", (queue, payload))

    def _get(self, queue: str, timeout: float | None = None) -> dict[str, Any]:
        return self._take(queue, consume=queue in self._noack_queues)

    def basic_get(self, queue: str, no_ack: bool = False, **kwargs: Any) -> Any:
        try:
            message = self.Message(self._take(queue, consume=no_ack), channel=self)
        except Empty:
            return None
        if not no_ack:
            self.qos.append(message, str(message.delivery_tag))
        return message

    def basic_consume(
        self, queue: str, no_ack: bool, callback: Any, consumer_tag: str | None, **kwargs: Any
    ) -> Any:
        if no_ack:  # e.g. Celery's pidbox: nobody will ack, so take instead of claim
            self._noack_queues.add(queue)
        return super().basic_consume(queue, no_ack, callback, consumer_tag, **kwargs)

    def basic_cancel(self, consumer_tag: str) -> Any:
        queue = self._tag_to_queue.get(consumer_tag)
        result = super().basic_cancel(consumer_tag)
        if queue is not None and queue not in self._active_queues:
            self._noack_queues.discard(queue)
        return result

    def _size(self, queue: str) -> int:
        with self._conn() as db:
            row = db.execute(
                "SELECT count(*) FROM messages WHERE queue = ? AND claimed_by IS NULL", (queue,)
            ).fetchone()
        return int(row[0])

    def _purge(self, queue: str) -> int:
        """Drop the ready messages of ``queue`` (as AMQP does; unacked ones stay)."""
        with self._conn() as db:
            cursor = db.execute(
                "DELETE FROM messages WHERE queue = ? AND claimed_by IS NULL", (queue,)
            )
        return int(cursor.rowcount)

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        """Delete the queue: all of its messages, claimed or not."""
        with self._conn() as db:
            db.execute("DELETE FROM messages WHERE queue = ?", (queue,))

    def queue_delete(
        self, queue: str, if_unused: bool = False, if_empty: bool = False, **kwargs: Any
    ) -> None:
        # The base class only calls _delete() for bindings known to *this* process.
        if if_empty and self._size(queue):
            return None
        super().queue_delete(queue, if_unused=if_unused, if_empty=if_empty, **kwargs)
        self._delete(queue)
        return None

    def _has_queue(self, queue: str, **kwargs: Any) -> bool:
        return True  # queues exist implicitly, like Redis lists

    # -- internals --

    def _take(self, queue: str, *, consume: bool) -> dict[str, Any]:
        """Claim (or, for no-ack consumers, remove) the oldest ready message of ``queue``."""
        now = time.monotonic()
        if now >= self._next_recovery:
            self._next_recovery = now + self._recovery_interval
            self._recover(sweep=False)
        claimed_by = None if consume else owner_for(self._path).claimed_by
        with self._conn() as db:
            # Cheap snapshot read first, so idle polling never takes the write lock.
            if not db.execute(_SQL_PEEK, (queue,)).fetchall():
                raise Empty()
            db.execute("BEGIN IMMEDIATE")
            try:
                if consume:
                    rows = db.execute(_SQL_TAKE, (queue,)).fetchall()
                else:
                    rows = db.execute(_SQL_CLAIM, (claimed_by, time.time(), queue)).fetchall()
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        if not rows:
            raise Empty()  # another consumer got it first
        row_id, payload, deliveries = rows[0]
        try:
            message: dict[str, Any] = loads(payload)
            properties = message["properties"]
            delivery_info = properties.setdefault("delivery_info", {})
        except (ValueError, KeyError, TypeError, AttributeError):
            logger.error("embedded broker: dropping undecodable message %s from %r", row_id, queue)
            if not consume:
                self._settle(f"{row_id}.{deliveries}", requeue=False)
            raise Empty() from None
        properties["delivery_tag"] = f"{row_id}.{deliveries}"
        if deliveries > 1 or message.get("redelivered"):
            delivery_info["redelivered"] = True
        return message

    def _settle(self, delivery_tag: Any, *, requeue: bool) -> None:
        """Finish one delivery: delete it (ack/reject) or clear its claim (requeue)."""
        if os.getpid() != self._created_pid:
            return  # a forked child holds a copy of the parent's deliveries: not ours
        parsed = _parse_tag(delivery_tag)
        if parsed is None:
            logger.warning("embedded broker: ignoring unknown delivery tag %r", delivery_tag)
            return
        with self._conn() as db:
            db.execute(_SQL_UNCLAIM if requeue else _SQL_ACK, parsed)

    def _recover(self, *, sweep: bool) -> int:
        """Release claims whose owning process is gone, so their messages are redelivered."""
        directory = owners_dir(self._path)
        own = current_owner(self._path)
        with self._conn() as db:
            owners = [row[0] for row in db.execute(_SQL_OWNERS).fetchall()]
        released = 0
        for claimed_by in owners:
            token = str(claimed_by).rpartition(":")[2]
            if (own is not None and token == own.token) or owner_alive(directory, token):
                continue
            with self._conn() as db:
                released += db.execute(_SQL_RELEASE, (claimed_by,)).rowcount
            logger.warning(
                "embedded broker: process %s is gone; its unacked messages will be redelivered",
                claimed_by,
            )
        if sweep:
            sweep_owner_files(directory)
        return released
