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

import redis.exceptions

from tasks.shared_redis import shared_redis
from tasks.sqlite import open_shared

#: The shared state store is away (restarting, failing over, locked), not the lookup broken:
#: worth trying the whole task again shortly, never worth an error reply.
STATE_ERRORS: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    sqlite3.OperationalError,
)

#: Slack retries an event after ~0 s, 1 min and 5 min; remember keys longer than that.
DEFAULT_TTL_S = 15 * 60


class Dedup(Protocol):
    def first(self, key: str, ttl_s: float = DEFAULT_TTL_S) -> bool:
        """True the first time `key` is seen within `ttl_s`, False afterwards."""


class RedisDedup:
    def __init__(self, redis_url: str) -> None:
        self._redis = shared_redis(redis_url)

    def first(self, key: str, ttl_s: float = DEFAULT_TTL_S) -> bool:
        ttl_ms = max(1, round(ttl_s * 1000))
        return bool(self._redis.set(f"invoicebot:seen:{key}", b"1", nx=True, px=ttl_ms))


class SQLiteDedup:
    def __init__(self, path: Path) -> None:
        self._db = open_shared(path)
        self._db.execute("CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, until REAL)")
        self._lock = threading.Lock()
        path.chmod(0o600)

    def first(self, key: str, ttl_s: float = DEFAULT_TTL_S) -> bool:
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


def make_dedup(redis_url: str | None, state_dir: Path) -> Dedup:
    return RedisDedup(redis_url) if redis_url else SQLiteDedup(state_dir / "seen.sqlite3")


class Ledger(Protocol):
    """Per-request reply state, so a redelivered task never answers twice."""

    def state(self, key: str) -> str | None: ...
    def claim(self, key: str, ttl_s: int) -> str | None:
        """Take `key` (value "posting", expiring after `ttl_s`) if it is free and return None;
        otherwise return its state ("posting" or "done"). One round trip for both."""

    def finish(self, key: str, ttl_s: int) -> None:
        """Mark `key` "done" for `ttl_s` seconds."""


#: GET, and SET NX only when absent: `SET NX GET` needs Redis 7, this works on any.
_CLAIM = """
local held = redis.call('GET', KEYS[1])
if held then return held end
redis.call('SET', KEYS[1], 'posting', 'EX', ARGV[1])
return false
"""


class RedisLedger:
    def __init__(self, redis_url: str) -> None:
        self._redis = shared_redis(redis_url)
        self._claim = self._redis.register_script(_CLAIM)

    def _key(self, key: str) -> str:
        return f"invoicebot:reply:{key}"

    def state(self, key: str) -> str | None:
        value = self._redis.get(self._key(key))
        return value.decode() if isinstance(value, bytes) else None

    def claim(self, key: str, ttl_s: int) -> str | None:
        held = self._claim(keys=[self._key(key)], args=[ttl_s])
        return held.decode() if isinstance(held, bytes) else None

    def finish(self, key: str, ttl_s: int) -> None:
        self._redis.set(self._key(key), b"done", ex=ttl_s)


class SQLiteLedger:
    def __init__(self, path: Path) -> None:
        self._db = open_shared(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS ledger (key TEXT PRIMARY KEY, value TEXT, until REAL)"
        )
        self._lock = threading.Lock()
        path.chmod(0o600)

    def state(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM ledger WHERE key = ? AND until >= ?", (key, time.time())
            ).fetchone()
        return str(row[0]) if row else None

    def claim(self, key: str, ttl_s: int) -> str | None:
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM ledger WHERE until < ?", (now,))
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO ledger (key, value, until) VALUES (?, 'posting', ?)",
                    (key, now + ttl_s),
                )
                held = None
                if cursor.rowcount != 1:
                    row = self._db.execute("SELECT value FROM ledger WHERE key = ?", (key,))
                    held = str(row.fetchone()[0])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return held

    def finish(self, key: str, ttl_s: int) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO ledger (key, value, until) VALUES (?, 'done', ?)",
                (key, time.time() + ttl_s),
            )


def make_ledger(redis_url: str | None, state_dir: Path) -> Ledger:
    return RedisLedger(redis_url) if redis_url else SQLiteLedger(state_dir / "replies.sqlite3")
