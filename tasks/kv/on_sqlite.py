"""The key-value interface on one SQLite file a store, shared by the processes of a host.

A claim or an update reads and writes inside one immediate transaction (the file's write
lock), as `SET NX` or a Lua script does in Redis. An earlier release's table is moved over
once, so an upgrade forgets nothing.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from tasks.sqlite import open_shared

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
    "cards": (  # (flow, staff, card, until): which card each approver of a report has
        "INSERT OR IGNORE INTO kv_fields SELECT * FROM cards WHERE until > ?",
        "DROP TABLE cards",
    ),
    "recent": (  # (who, at, entry, until): each person's recent lookups
        "INSERT INTO kv_lists SELECT * FROM recent WHERE until > ?",
        "DROP TABLE recent",
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


class SQLiteKV:
    """Three tables in `path`: `kv` (values), `kv_fields` (small maps) and `kv_lists`
    (capped lists), each row with its `until`. `legacy` names the table an earlier release
    kept there (`_LEGACY`): its live rows are moved over once, so an upgrade forgets
    nothing."""

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
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS kv_fields (key TEXT, field TEXT, value TEXT, until REAL,"
            " PRIMARY KEY (key, field))"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS kv_lists (key TEXT, seq REAL, value TEXT, until REAL)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS kv_lists_key ON kv_lists (key, seq)")
        if legacy is None:
            return
        copy, drop = _LEGACY[legacy]
        if self._db.execute(_HAS_TABLE, (legacy,)).fetchone():
            self._db.execute(copy, (self._clock(),))
            self._db.execute(drop)

    def _immediate(self, work: Callable[[], T]) -> T:
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
            return self._immediate(take)

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
            return self._immediate(edit)

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

    def field_put(self, key: str, field: str, value: str, ttl_s: float) -> None:
        until = self._clock() + ttl_s

        def write() -> None:
            self._db.execute(
                "INSERT OR REPLACE INTO kv_fields VALUES (?, ?, ?, ?)", (key, field, value, until)
            )
            self._db.execute("UPDATE kv_fields SET until = ? WHERE key = ?", (until, key))

        with self._lock:
            self._immediate(write)

    def field_get(self, key: str, field: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM kv_fields WHERE key = ? AND field = ? AND until > ?",
                (key, field, self._clock()),
            ).fetchone()
        return str(row[0]) if row else None

    def fields(self, key: str) -> dict[str, str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT field, value FROM kv_fields WHERE key = ? AND until > ?",
                (key, self._clock()),
            ).fetchall()
        return {str(field): str(value) for field, value in rows}

    def field_delete(self, key: str, field: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM kv_fields WHERE key = ? AND field = ?", (key, field))

    def list_push(self, key: str, value: str, keep: int, ttl_s: float) -> None:
        now = self._clock()

        def write() -> None:
            self._db.execute("INSERT INTO kv_lists VALUES (?, ?, ?, ?)", (key, now, value, 0))
            self._db.execute("UPDATE kv_lists SET until = ? WHERE key = ?", (now + ttl_s, key))
            self._db.execute(
                "DELETE FROM kv_lists WHERE key = ? AND rowid NOT IN (SELECT rowid FROM "
                "kv_lists WHERE key = ? ORDER BY seq DESC, rowid DESC LIMIT ?)",
                (key, key, keep),
            )

        with self._lock:
            self._immediate(write)

    def list_items(self, key: str, count: int) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT value FROM kv_lists WHERE key = ? AND until > ? "
                "ORDER BY seq DESC, rowid DESC LIMIT ?",
                (key, self._clock(), count),
            ).fetchall()
        return [str(row[0]) for row in rows]
