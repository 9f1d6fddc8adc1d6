"""Seen-before checks shared by every bot process: Slack retries events, people double-click.

In the broker's Redis when there is one (`SET NX EX`), else in a small SQLite file in the
state folder, so a retried event is answered once however many bot processes run.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Protocol

#: Slack retries an event after ~0 s, 1 min and 5 min; remember keys longer than that.
DEFAULT_TTL_S = 15 * 60


class Dedup(Protocol):
    def first(self, key: str, ttl_s: int = DEFAULT_TTL_S) -> bool:
        """True the first time `key` is seen within `ttl_s`, False afterwards."""


class RedisDedup:
    def __init__(self, redis_url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)

    def first(self, key: str, ttl_s: int = DEFAULT_TTL_S) -> bool:
        return bool(self._redis.set(f"invoicebot:seen:{key}", b"1", nx=True, ex=ttl_s))


class SQLiteDedup:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._db = sqlite3.connect(path, timeout=5, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, until REAL)")
        self._lock = threading.Lock()
        path.chmod(0o600)

    def first(self, key: str, ttl_s: int = DEFAULT_TTL_S) -> bool:
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM seen WHERE until < ?", (now,))
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO seen (key, until) VALUES (?, ?)", (key, now + ttl_s)
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return cursor.rowcount == 1


class MemoryDedup:
    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def first(self, key: str, ttl_s: int = DEFAULT_TTL_S) -> bool:
        now = time.time()
        with self._lock:
            if self._seen.get(key, 0) > now:
                return False
            self._seen[key] = now + ttl_s
            return True


def make_dedup(redis_url: str | None, state_dir: Path) -> Dedup:
    return RedisDedup(redis_url) if redis_url else SQLiteDedup(state_dir / "seen.sqlite3")
