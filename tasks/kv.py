"""The one small key-value interface under the shared stores: get and put with expiry
(one or many in a round trip), claim-once with expiry, what is left of an expiry, delete.

Redis when the deployment has one (the broker's, so every host shares it), else a SQLite
file under STATE_DIR (every process of one host shares it). Stores keep their own key
prefix (Redis) or file (SQLite), so a deploy reads what the previous release wrote. On
SQLite a claim or an update reads and writes inside one immediate transaction (the file's
write lock), as `SET NX` or a Lua script does in Redis; the stores hold none of their own.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

from tasks.shared_redis import shared_redis
from tasks.sqlite import open_shared


class KV(Protocol):
    def get(self, key: str) -> str | None:
        """The value, or None when absent or expired."""

    def put(self, key: str, value: str, ttl_s: float) -> None:
        """Set `key` to `value` for `ttl_s` seconds, whatever was there."""

    def get_many(self, keys: Sequence[str]) -> dict[str, str]:
        """The live values among `keys`, in one round trip."""

    def put_many(self, entries: Mapping[str, str], ttl_s: float) -> None:
        """`put` for each entry, in one round trip."""

    def claim(self, key: str, value: str, ttl_s: float) -> str | None:
        """Set `key` to `value` for `ttl_s` only if it is free: None when this caller took
        it, else the value that holds it. One round trip for both."""

    def left_s(self, key: str) -> float | None:
        """Seconds until `key` expires; None when it is absent."""

    def delete(self, key: str) -> None: ...


#: GET, and SET NX only when absent: `SET NX GET` needs Redis 7, this works on any.
_CLAIM = """
local held = redis.call('GET', KEYS[1])
if held then return held end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
"""


T = TypeVar("T")

#: The tables earlier releases kept, by name: how their live rows move into `kv`.
_LEGACY = {
    "seen": (
        "INSERT OR IGNORE INTO kv SELECT key, '1', until FROM seen WHERE until > ?",
        "DROP TABLE seen",
    ),
    "report_cache": (  # (key, refs, until), keys already "<tenant>:<key>"
        "INSERT OR IGNORE INTO kv SELECT * FROM report_cache WHERE until > ?",
        "DROP TABLE report_cache",
    ),
    "shared": (  # (key, state, until): the budget's and in-flight state
        "INSERT OR IGNORE INTO kv SELECT * FROM shared WHERE until > ?",
        "DROP TABLE shared",
    ),
    "ledger": (  # (key, value, until) for replies, (key, record, until) for decisions
        "INSERT OR IGNORE INTO kv SELECT * FROM ledger WHERE until > ?",
        "DROP TABLE ledger",
    ),
}
_HAS_TABLE = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"


def _ms(ttl_s: float) -> int:
    return max(1, round(ttl_s * 1000))


def _text(raw: object) -> str | None:
    if isinstance(raw, bytes):
        return raw.decode()
    return raw if isinstance(raw, str) else None


class RedisKV:
    """Keys under `prefix` (the store's namespace) on this process's one client."""

    def __init__(self, redis_url: str, prefix: str) -> None:
        self._redis = shared_redis(redis_url)
        self._prefix = prefix
        self._claim = self._redis.register_script(_CLAIM)

    def get(self, key: str) -> str | None:
        return _text(self._redis.get(self._prefix + key))

    def put(self, key: str, value: str, ttl_s: float) -> None:
        self._redis.set(self._prefix + key, value, px=_ms(ttl_s))

    def get_many(self, keys: Sequence[str]) -> dict[str, str]:
        if not keys:
            return {}
        raws = self._redis.mget([self._prefix + k for k in keys])
        found = {k: _text(raw) for k, raw in zip(keys, raws, strict=True)}
        return {k: v for k, v in found.items() if v is not None}

    def put_many(self, entries: Mapping[str, str], ttl_s: float) -> None:
        if not entries:
            return
        pipe = self._redis.pipeline(transaction=False)
        for key, value in entries.items():
            pipe.set(self._prefix + key, value, px=_ms(ttl_s))
        pipe.execute()

    def claim(self, key: str, value: str, ttl_s: float) -> str | None:
        return _text(self._claim(keys=[self._prefix + key], args=[value, _ms(ttl_s)]))

    def left_s(self, key: str) -> float | None:
        left = self._redis.pttl(self._prefix + key)
        if not isinstance(left, int) or left == -2:
            return None
        return None if left < 0 else left / 1000

    def delete(self, key: str) -> None:
        self._redis.delete(self._prefix + key)


class SQLiteKV:
    """One table `kv (key, value, until)` in `path`. `legacy` names the table an earlier
    release kept there (`key, value, until` or `key, until`): its live rows are moved over
    once, so an upgrade forgets nothing."""

    def __init__(
        self, path: Path, legacy: str | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self._db = open_shared(path)
        self._clock = clock
        self._lock = threading.Lock()
        with self._lock:
            self._immediate(lambda: self._create(legacy))
        path.chmod(0o600)

    def _create(self, legacy: str | None) -> None:
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT, until REAL)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS kv_until ON kv (until)")
        if legacy is None:
            return
        copy, drop = _LEGACY[legacy]
        if self._db.execute(_HAS_TABLE, (legacy,)).fetchone():
            self._db.execute(copy, (self._clock(),))
            self._db.execute(drop)

    def _immediate(self, work: Callable[[], object]) -> object:
        """`work` under the file's write lock, all or nothing (callers hold `_lock`)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            done = work()
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return done

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM kv WHERE key = ? AND until > ?", (key, self._clock())
            ).fetchone()
        return str(row[0]) if row else None

    def put(self, key: str, value: str, ttl_s: float) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO kv VALUES (?, ?, ?)", (key, value, self._clock() + ttl_s)
            )

    def get_many(self, keys: Sequence[str]) -> dict[str, str]:
        if not keys:
            return {}
        with self._lock:
            rows = self._db.execute(
                "SELECT key, value FROM kv WHERE until > ? "
                "AND key IN (SELECT value FROM json_each(?))",
                (self._clock(), json.dumps(list(keys))),
            ).fetchall()
        return {str(key): str(value) for key, value in rows}

    def put_many(self, entries: Mapping[str, str], ttl_s: float) -> None:
        if not entries:
            return
        now = self._clock()
        rows = [(key, value, now + ttl_s) for key, value in entries.items()]

        def write() -> None:
            self._db.execute("DELETE FROM kv WHERE until <= ?", (now,))
            self._db.executemany("INSERT OR REPLACE INTO kv VALUES (?, ?, ?)", rows)

        with self._lock:
            self._immediate(write)

    def claim(self, key: str, value: str, ttl_s: float) -> str | None:
        now = self._clock()

        def take() -> str | None:
            self._db.execute("DELETE FROM kv WHERE until <= ?", (now,))
            taken = self._db.execute(
                "INSERT OR IGNORE INTO kv VALUES (?, ?, ?)", (key, value, now + ttl_s)
            ).rowcount
            if taken == 1:
                return None
            row = self._db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
            return str(row[0]) if row else value

        with self._lock:
            held = self._immediate(take)
        return held if isinstance(held, str) else None

    def update(self, key: str, change: Callable[[dict[str, Any], float], T], keep_s: float) -> T:
        """Read `key`'s JSON state, let `change` edit it in place at the file's clock, and
        write it back for `keep_s`, all under the file's write lock: what a Lua script does
        for the same rule in Redis (the budget, each person's lookups in flight)."""

        def edit() -> T:
            now = self._clock()
            self._db.execute("DELETE FROM kv WHERE until <= ?", (now,))
            row = self._db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
            state: dict[str, Any] = json.loads(row[0]) if row else {}
            result = change(state, now)
            self._db.execute(
                "INSERT OR REPLACE INTO kv VALUES (?, ?, ?)",
                (key, json.dumps(state, separators=(",", ":")), now + keep_s),
            )
            return result

        with self._lock:
            return cast(T, self._immediate(edit))

    def left_s(self, key: str) -> float | None:
        now = self._clock()
        with self._lock:
            row = self._db.execute(
                "SELECT until FROM kv WHERE key = ? AND until > ?", (key, now)
            ).fetchone()
        return float(row[0]) - now if row else None

    def delete(self, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM kv WHERE key = ?", (key,))


def make_kv(redis_url: str | None, prefix: str, path: Path, legacy: str | None = None) -> KV:
    """Redis under `prefix` when there is one, else the SQLite file at `path`."""
    if redis_url:
        return RedisKV(redis_url, prefix)
    return SQLiteKV(path, legacy)
