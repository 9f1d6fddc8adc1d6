"""The shared state of the Ekuaibao budget kept in one SQLite file, for the processes of one
host: each update a write transaction, so processes take turns."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from tasks.ekuaibao.budget_store import KEEP_S, LineLimiter
from tasks.sqlite import open_shared

T = TypeVar("T")


class SQLiteState:
    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self._db = open_shared(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS shared (key TEXT PRIMARY KEY, state TEXT, until REAL)"
        )
        self._clock = clock
        self._lock = threading.Lock()

    def update(self, key: str, change: Callable[[dict[str, Any], float], T]) -> T:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                now = self._clock()
                self._db.execute("DELETE FROM shared WHERE until < ?", (now,))
                row = self._db.execute("SELECT state FROM shared WHERE key = ?", (key,)).fetchone()
                state: dict[str, Any] = json.loads(row[0]) if row else {}
                result = change(state, now)
                self._db.execute(
                    "INSERT OR REPLACE INTO shared VALUES (?, ?, ?)",
                    (key, json.dumps(state, separators=(",", ":")), now + KEEP_S),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return result


class SQLiteRateLimiter(LineLimiter):
    """The budget in one SQLite file, for the processes of one host."""

    def __init__(
        self, path: Path, rate: float, burst: int, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(SQLiteState(path, clock), "budget", rate, burst)
