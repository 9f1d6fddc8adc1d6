"""The shared Ekuaibao budget kept in one SQLite file, for the processes of one host."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from tasks.ekuaibao.budget import CUT_EVERY_S, MAX_WAIT_S, Grant, effective_rate, floor_rate
from tasks.sqlite import open_shared


class SQLiteRateLimiter:
    """The same bucket in one SQLite file, for the processes of one host."""

    def __init__(
        self, path: Path, rate: float, burst: int, clock: Callable[[], float] = time.time
    ) -> None:
        self._db = open_shared(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS budget (id INTEGER PRIMARY KEY, tokens REAL, ts REAL, "
            "cut REAL, cut_at REAL, halved_at REAL)"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS queue (ticket TEXT PRIMARY KEY, due REAL)")
        self._rate, self._burst, self._clock = rate, burst, clock
        self._lock = threading.Lock()

    def _state(self, now: float) -> tuple[float, float | None, float, float, float]:
        """(tokens now, cut, cut_at, halved_at, effective rate), refilled up to `now`."""
        row = self._db.execute(
            "SELECT tokens, ts, cut, cut_at, halved_at FROM budget WHERE id = 1"
        ).fetchone()
        if row is None:
            row = (float(self._burst), now, None, 0.0, 0.0)
        tokens, ts, cut, cut_at, halved_at = row
        rate = effective_rate(self._rate, cut, cut_at, now)
        cap = max(1.0, self._burst * rate / self._rate)
        return min(cap, tokens + (now - ts) * rate), cut, cut_at, halved_at, rate

    def take(self, want: int = 1, max_wait_s: float = MAX_WAIT_S, ticket: str = "") -> Grant:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                now = self._clock()
                tokens, cut, cut_at, halved_at, rate = self._state(now)
                granted = min(want, int(tokens)) if tokens >= 1 else 1
                left = tokens - granted
                wait = 0.0 if left >= 0 else -left / rate
                self._db.execute("DELETE FROM queue WHERE due <= ?", (now,))
                ahead = 0
                if wait > 0:
                    due = now + wait
                    (ahead,) = self._db.execute(
                        "SELECT COUNT(*) FROM queue WHERE due < ? AND ticket != ?", (due, ticket)
                    ).fetchone()
                if wait > max_wait_s:
                    self._db.execute("COMMIT")
                    return Grant(0, wait, ahead)
                self._db.execute(
                    "INSERT OR REPLACE INTO budget VALUES (1, ?, ?, ?, ?, ?)",
                    (left, now, cut, cut_at, halved_at),
                )
                if ticket and wait > 0:
                    self._db.execute(
                        "INSERT INTO queue VALUES (?, ?) ON CONFLICT (ticket) "
                        "DO UPDATE SET due = max(due, excluded.due)",
                        (ticket, now + wait),
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return Grant(granted, wait, ahead)

    def slow_down(self, retry_after_s: float | None) -> float:
        hold = min(retry_after_s or 0.0, MAX_WAIT_S)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                now = self._clock()
                tokens, _cut, _cut_at, halved_at, rate = self._state(now)
                if now - halved_at >= CUT_EVERY_S:
                    rate, halved_at = max(floor_rate(self._rate), rate / 2), now
                tokens = min(tokens, 1 - hold * rate)
                self._db.execute(
                    "INSERT OR REPLACE INTO budget VALUES (1, ?, ?, ?, ?, ?)",
                    (tokens, now, rate, now, halved_at),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return rate
