"""The decisions ledger, shared by every worker (Redis, else SQLite under STATE_DIR): one
record per (report, node, approver), claimed before Ekuaibao is called, so a double click,
another copy of the card or a second worker finds it taken; and the tenant's one slot a
minute for `backlog/data`.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from tasks.shared_redis import shared_redis
from tasks.sqlite import open_shared

#: A decision is remembered this long (a report rarely comes back to one node sooner).
DECISION_TTL_S = 7 * 86400


class Ledger(Protocol):
    def claim(self, key: str, record: dict[str, Any]) -> dict[str, Any] | None:
        """Take `key` for `record`: None when taken now, else the record already there."""

    def get(self, key: str) -> dict[str, Any] | None: ...
    def put(self, key: str, record: dict[str, Any]) -> None: ...
    def release(self, key: str) -> None: ...

    def slot(self, tenant: str, interval_s: float) -> float:
        """0 when this caller may submit now (and the next one must wait `interval_s`),
        else how many seconds until the slot frees."""


class RedisLedger:
    def __init__(self, redis_url: str) -> None:
        self._redis = shared_redis(redis_url)

    @staticmethod
    def _key(key: str) -> str:
        return f"invoicebot:decide:{key}"

    def claim(self, key: str, record: dict[str, Any]) -> dict[str, Any] | None:
        if self._redis.set(self._key(key), json.dumps(record), nx=True, ex=DECISION_TTL_S):
            return None
        return self.get(key) or {"phase": "unknown"}

    def get(self, key: str) -> dict[str, Any] | None:
        raw = self._redis.get(self._key(key))
        return json.loads(raw) if raw else None

    def put(self, key: str, record: dict[str, Any]) -> None:
        self._redis.set(self._key(key), json.dumps(record), ex=DECISION_TTL_S)

    def release(self, key: str) -> None:
        self._redis.delete(self._key(key))

    def slot(self, tenant: str, interval_s: float) -> float:
        name = self._key(f"slot:{tenant}")
        if self._redis.set(name, b"1", nx=True, px=max(int(interval_s * 1000), 1)):
            return 0.0
        left = self._redis.pttl(name)
        return max(int(left), 1) / 1000 if isinstance(left, int) else interval_s


class SQLiteLedger:
    def __init__(self, path: Path) -> None:
        self._db = open_shared(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS ledger (key TEXT PRIMARY KEY, record TEXT, until REAL)"
        )
        self._lock = threading.Lock()
        path.chmod(0o600)

    def claim(self, key: str, record: dict[str, Any]) -> dict[str, Any] | None:
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM ledger WHERE key = ? AND until < ?", (key, now))
                done = self._db.execute(
                    "INSERT OR IGNORE INTO ledger VALUES (?, ?, ?)",
                    (key, json.dumps(record), now + DECISION_TTL_S),
                ).rowcount
                row = (
                    None
                    if done
                    else self._db.execute(
                        "SELECT record FROM ledger WHERE key = ?", (key,)
                    ).fetchone()
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return None if done else (json.loads(row[0]) if row else {"phase": "unknown"})

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT record FROM ledger WHERE key = ? AND until > ?", (key, time.time())
            ).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, record: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO ledger VALUES (?, ?, ?)",
                (key, json.dumps(record), time.time() + DECISION_TTL_S),
            )

    def release(self, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM ledger WHERE key = ?", (key,))

    def slot(self, tenant: str, interval_s: float) -> float:
        key, now = f"slot:{tenant}", time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT until FROM ledger WHERE key = ?", (key,)).fetchone()
                if row and row[0] > now:
                    self._db.execute("COMMIT")
                    return float(row[0]) - now
                self._db.execute(
                    "INSERT OR REPLACE INTO ledger VALUES (?, '{}', ?)", (key, now + interval_s)
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return 0.0


def make_ledger(redis_url: str | None, state_dir: Path) -> Ledger:
    if redis_url:
        return RedisLedger(redis_url)
    return SQLiteLedger(state_dir / "decisions.sqlite3")
