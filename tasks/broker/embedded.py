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

import contextlib
import fcntl
import logging
import os
import re
import secrets
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from kombu.transport import TRANSPORT_ALIASES, virtual
from kombu.utils.json import dumps, loads

__all__ = ["SCHEME", "Channel", "QoS", "Transport", "embedded_url", "register"]

logger = logging.getLogger(__name__)

SCHEME = "embedded"
_TRANSPORT_PATH = "tasks.broker.embedded:Transport"

DEFAULT_POLLING_INTERVAL = 0.02
DEFAULT_RECOVERY_INTERVAL = 2.0
DEFAULT_BUSY_TIMEOUT = 10.0
# FULL: a publish that returned is on disk even after a power cut (one WAL fsync per
# commit).  NORMAL survives any *process* crash but may lose the last commits on power
# loss; it is offered as an option because it is ~2-3x faster on slow disks.
DEFAULT_SYNCHRONOUS = "FULL"
_SYNC_MODES = frozenset({"OFF", "NORMAL", "FULL", "EXTRA"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    queue       TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    claimed_by  TEXT    NULL,
    claimed_at  REAL    NULL,
    deliveries  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS messages_ready ON messages (queue, id) WHERE claimed_by IS NULL;
CREATE INDEX IF NOT EXISTS messages_claimed ON messages (claimed_by)
    WHERE claimed_by IS NOT NULL;
"""
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

_TOKEN_RE = re.compile(r"[0-9a-f]{16}")
_STALE_TMP_SECONDS = 60.0


def register() -> None:
    """Make ``embedded://`` resolvable by kombu (and so by Celery).  Idempotent.

    Must run in every process that opens the broker (bot, worker, CLI tools) before the
    first connection, e.g. next to the ``Celery(...)`` app definition.
    """
    TRANSPORT_ALIASES[SCHEME] = _TRANSPORT_PATH


def embedded_url(path: Path) -> str:
    """Broker URL for the SQLite file at ``path``: ``embedded:///abs/path``.

    Relative paths are made absolute against the current directory, because the URL is
    read again by worker processes that may run elsewhere.
    """
    absolute = Path(path).expanduser().absolute()
    return f"{SCHEME}://{quote(str(absolute))}"


def _db_path(url: str | None, options: Mapping[str, Any]) -> Path:
    """Resolve the database path from the URL (``embedded:///abs``) or ``options["path"]``."""
    raw = ""
    if url and "://" in url:
        parts = urlsplit(url)
        if parts.scheme != SCHEME:
            raise ValueError(f"not an {SCHEME}:// URL: {url!r}")
        if parts.netloc not in ("", "localhost"):
            raise ValueError(
                f"{SCHEME}:// URLs take an absolute path and no host: "
                f"{SCHEME}:///abs/path/broker.sqlite3 (got host {parts.netloc!r})"
            )
        raw = unquote(parts.path)
    elif url and url.startswith("/"):
        raw = url
    if raw in ("", "/"):
        raw = str(options.get("path") or "")
    if not raw:
        raise ValueError(
            f"{SCHEME}:// needs a database path: {SCHEME}:///abs/path/broker.sqlite3 "
            "or broker_transport_options={'path': ...}"
        )
    path = Path(raw).expanduser()
    if not path.is_absolute():
        raise ValueError(f"{SCHEME}:// database path must be absolute, got {raw!r}")
    return path


# --- process-wide state ---------------------------------------------------------------

_state_lock = threading.Lock()
_initialised: set[Path] = set()


@dataclass(frozen=True)
class _Owner:
    """This process's claim identity for one database, backed by a held flock."""

    claimed_by: str
    token: str
    fd: int


_owners: dict[Path, _Owner] = {}


def _after_fork_in_child() -> None:
    """A forked child must not inherit the parent's identity (or a held lock)."""
    global _state_lock
    _state_lock = threading.Lock()
    for owner in _owners.values():
        with contextlib.suppress(OSError):
            os.close(owner.fd)  # close, not LOCK_UN: the parent keeps its lock
    _owners.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _owners_dir(path: Path) -> Path:
    return path.with_name(path.name + ".owners")


def _owner_for(path: Path) -> _Owner:
    with _state_lock:
        owner = _owners.get(path)
        if owner is None:
            owner = _owners[path] = _create_owner(_owners_dir(path))
        return owner


def _create_owner(directory: Path) -> _Owner:
    """Create and lock ``<token>.lock``; it only appears under that name once locked."""
    directory.mkdir(mode=0o700, exist_ok=True)
    token = secrets.token_hex(8)
    tmp = directory / f"{token}.tmp"
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        claimed_by = f"{socket.gethostname()}:{os.getpid()}:{token}"
        os.write(fd, claimed_by.encode() + b"\n")
        os.replace(tmp, directory / f"{token}.lock")
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return _Owner(claimed_by=claimed_by, token=token, fd=fd)


def _owner_alive(directory: Path, token: str) -> bool:
    """True while the process that created ``token`` still runs (it holds the flock).

    A dead owner's lock file is removed on the way.
    """
    if not _TOKEN_RE.fullmatch(token):
        return False
    lock_path = directory / f"{token}.lock"
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        with contextlib.suppress(FileNotFoundError):
            lock_path.unlink()
        return False
    finally:
        os.close(fd)


def _sweep_owner_files(directory: Path) -> None:
    """Remove lock files of owners that are gone and temp files of aborted creations."""
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return
    now = time.time()
    for entry in entries:
        name = entry.name
        if name.endswith(".lock"):
            _owner_alive(directory, name.removesuffix(".lock"))
        elif name.endswith(".tmp"):
            with contextlib.suppress(OSError):
                if now - entry.stat().st_mtime > _STALE_TMP_SECONDS:
                    os.unlink(entry.path)


def _ensure_database(path: Path) -> None:
    """Create the file 0600 (tasks carry secrets), switch it to WAL, create the schema.

    Done once per process and path, under a lock, before this process opens any
    connection to it: opening and closing a second descriptor on a file SQLite has open
    would drop SQLite's POSIX locks on it.
    """
    with _state_lock:
        if path in _initialised:
            return
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists():
            with contextlib.suppress(FileExistsError):
                os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
        st = path.stat()
        if st.st_mode & 0o077 and st.st_uid == os.getuid():
            path.chmod(0o600)
        db = sqlite3.connect(path, timeout=DEFAULT_BUSY_TIMEOUT, isolation_level=None)
        try:
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"cannot enable WAL on {path} (got {mode!r})")
            db.executescript(_SCHEMA)
        finally:
            db.close()
        _initialised.add(path)


def _connect(path: Path, busy_timeout: float, synchronous: str) -> sqlite3.Connection:
    _ensure_database(path)
    # Autocommit mode: single statements commit on their own, claims use BEGIN IMMEDIATE.
    # check_same_thread=False because Celery acks from pool threads and moves pooled
    # producer connections between threads; every use is serialised by Channel._lock.
    db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
    db.execute(f"PRAGMA synchronous = {synchronous}")
    return db


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
        self._path = _db_path(client.hostname, options)
        self._busy_timeout = float(options.get("busy_timeout", DEFAULT_BUSY_TIMEOUT))
        self._recovery_interval = float(options.get("recovery_interval", DEFAULT_RECOVERY_INTERVAL))
        synchronous = str(options.get("synchronous", DEFAULT_SYNCHRONOUS)).upper()
        if synchronous not in _SYNC_MODES:
            raise ValueError(f"synchronous must be one of {sorted(_SYNC_MODES)}")
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
                db = _connect(self._path, self._busy_timeout, self._synchronous)
                try:
                    yield db
                finally:
                    db.close()
                return
            if self._db_conn is None:
                self._db_conn = _connect(self._path, self._busy_timeout, self._synchronous)
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
        claimed_by = None if consume else _owner_for(self._path).claimed_by
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
        directory = _owners_dir(self._path)
        own = _owners.get(self._path)
        with self._conn() as db:
            owners = [row[0] for row in db.execute(_SQL_OWNERS).fetchall()]
        released = 0
        for claimed_by in owners:
            token = str(claimed_by).rpartition(":")[2]
            if (own is not None and token == own.token) or _owner_alive(directory, token):
                continue
            with self._conn() as db:
                released += db.execute(_SQL_RELEASE, (claimed_by,)).rowcount
            logger.warning(
                "embedded broker: process %s is gone; its unacked messages will be redelivered",
                claimed_by,
            )
        if sweep:
            _sweep_owner_files(directory)
        return released


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
