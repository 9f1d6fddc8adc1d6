"""Opening a shared SQLite file while other processes open it too."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tasks import sqlite as shared


class LockedAtFirst:
    """A connection whose switch to WAL finds the file locked `times` times (another
    process is switching it too), as SQLite answers without waiting."""

    def __init__(self, times: int, error: str = "database is locked") -> None:
        self.left, self.error, self.closed = times, error, False

    def execute(self, sql: str) -> Any:
        if sql == "PRAGMA journal_mode":
            return _Row("delete")
        if self.left:
            self.left -= 1
            raise sqlite3.OperationalError(self.error)
        return _Row("wal")

    def close(self) -> None:
        self.closed = True


class _Row:
    def __init__(self, value: str) -> None:
        self.value = value

    def fetchone(self) -> tuple[str]:
        return (self.value,)


def test_a_locked_switch_to_wal_is_tried_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = LockedAtFirst(times=3)
    monkeypatch.setattr(shared.sqlite3, "connect", lambda *a, **k: fake)
    monkeypatch.setattr(shared.time, "sleep", lambda s: None)
    assert shared.open_shared(tmp_path / "x.sqlite3") is fake and fake.left == 0


def test_other_errors_and_a_lock_that_outlasts_the_wait_are_raised(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(shared.time, "sleep", lambda s: None)
    broken = LockedAtFirst(times=1, error="disk I/O error")
    monkeypatch.setattr(shared.sqlite3, "connect", lambda *a, **k: broken)
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        shared.open_shared(tmp_path / "x.sqlite3")
    assert broken.closed
    forever = LockedAtFirst(times=10**9)
    monkeypatch.setattr(shared.sqlite3, "connect", lambda *a, **k: forever)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        shared.open_shared(tmp_path / "x.sqlite3", wait_s=0.0)


def _open_many(path: str) -> int:
    for _ in range(30):
        shared.open_shared(Path(path)).close()
    return 0


def test_processes_opening_one_new_file_at_once_all_succeed(tmp_path: Path) -> None:
    """A prefork worker's children build their stores at the same moment."""
    paths = [str(tmp_path / f"s{n}.sqlite3") for n in range(4)]
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        for path in paths:
            assert pool.map(_open_many, [path] * 4) == [0, 0, 0, 0]
    for path in paths:
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        db.close()
