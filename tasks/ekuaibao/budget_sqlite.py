"""The shared state of the Ekuaibao budget kept in one SQLite file, for the processes of one
host: each update a write transaction, so processes take turns (`tasks.kv`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from tasks.ekuaibao.budget_store import KEEP_S, LineLimiter
from tasks.kv import SQLiteKV

T = TypeVar("T")


class SQLiteState:
    """The shared-state rule's store on one host: each update one write transaction."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self._kv = SQLiteKV(path, "shared", clock)

    def update(self, key: str, change: Callable[[dict[str, Any], float], T]) -> T:
        return self._kv.update(key, change, KEEP_S)


class SQLiteRateLimiter(LineLimiter):
    """The budget in one SQLite file, for the processes of one host."""

    def __init__(
        self, path: Path, rate: float, burst: int, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(SQLiteState(path, clock), "budget", rate, burst)
