"""The embedded broker's SQLite file and the owner locks that say whose claims are alive.

Part of the embedded transport (tasks/broker/embedded.py, whose docstring has the design).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import socket
import sqlite3
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

SCHEME = "embedded"
DEFAULT_POLLING_INTERVAL = 0.02
DEFAULT_RECOVERY_INTERVAL = 2.0
DEFAULT_BUSY_TIMEOUT = 10.0
# FULL: a publish that returned is on disk even after a power cut (one WAL fsync per
# commit).  NORMAL survives any *process* crash but may lose the last commits on power
# loss; it is offered as an option because it is ~2-3x faster on slow disks.
DEFAULT_SYNCHRONOUS = "FULL"
SYNC_MODES = frozenset({"OFF", "NORMAL", "FULL", "EXTRA"})

SCHEMA = """
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
_TOKEN_RE = re.compile(r"[0-9a-f]{16}")
_STALE_TMP_SECONDS = 60.0


def embedded_url(path: Path) -> str:
    """Broker URL for the SQLite file at ``path``: ``embedded:///abs/path``.

    Relative paths are made absolute against the current directory, because the URL is
    read again by worker processes that may run elsewhere.
    """
    absolute = Path(path).expanduser().absolute()
    return f"{SCHEME}://{quote(str(absolute))}"


def db_path(url: str | None, options: Mapping[str, Any]) -> Path:
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


def owners_dir(path: Path) -> Path:
    return path.with_name(path.name + ".owners")


def owner_for(path: Path) -> _Owner:
    with _state_lock:
        owner = _owners.get(path)
        if owner is None:
            owner = _owners[path] = _create_owner(owners_dir(path))
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


def owner_alive(directory: Path, token: str) -> bool:
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


def sweep_owner_files(directory: Path) -> None:
    """Remove lock files of owners that are gone and temp files of aborted creations."""
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return
    now = time.time()
    for entry in entries:
        name = entry.name
        if name.endswith(".lock"):
            owner_alive(directory, name.removesuffix(".lock"))
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
            db.executescript(SCHEMA)
        finally:
            db.close()
        _initialised.add(path)


def connect(path: Path, busy_timeout: float, synchronous: str) -> sqlite3.Connection:
    _ensure_database(path)
    # Autocommit mode: single statements commit on their own, claims use BEGIN IMMEDIATE.
    # check_same_thread=False because Celery acks from pool threads and moves pooled
    # producer connections between threads; every use is serialised by Channel._lock.
    db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
    db.execute(f"PRAGMA synchronous = {synchronous}")
    return db


def current_owner(path: Path) -> _Owner | None:
    """This process's owner for ``path``, if it has claimed anything from it yet."""
    return _owners.get(path)
