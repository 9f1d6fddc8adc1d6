"""One way to open the small SQLite files that hold shared state on a single host.

Several processes open the same file at start-up (a prefork worker's children, a bot and
its worker). Switching a file to WAL takes a lock that SQLite does not wait for, so two
processes doing it at once could fail one with "database is locked": here the switch is
retried while another process holds the file, and skipped once the file is already WAL.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

#: How long start-up waits for another process that holds the file.
OPEN_WAIT_S = 10.0


def open_shared(path: Path, *, wait_s: float = OPEN_WAIT_S) -> sqlite3.Connection:
    """A connection in WAL mode, autocommit, usable from any thread (callers lock)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    db = sqlite3.connect(path, timeout=wait_s, check_same_thread=False, isolation_level=None)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            mode = db.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            return db
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                db.close()
                raise
            time.sleep(0.05)
