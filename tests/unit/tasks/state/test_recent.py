"""Recent lookups for the Home tab: newest first, each question once, only the last few,
and the Home texts in both languages."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tasks.state.recent import KEPT, RecentLookup, make_recent


def entry(at: float, *ids: str, report: str = "", found: int = 1) -> RecentLookup:
    return RecentLookup(tuple(ids), report, at, found, len(ids) - found if ids else 0)


def test_newest_first_each_question_once(tmp_path: Path) -> None:
    store = make_recent(None, tmp_path)
    store.add("T1", "U1", entry(1.0, "A"))
    store.add("T1", "U1", entry(2.0, report="B23001249", found=7))
    store.add("T1", "U1", entry(3.0, "A", found=0))  # asked again: shown once, latest answer
    store.add("T1", "U2", entry(4.0, "C"))  # someone else's
    store.add("T2", "U1", entry(5.0, "D"))  # the same user id in another workspace
    got = store.latest("T1", "U1")
    assert [(e.ids, e.report, e.found) for e in got] == [
        (("A",), "", 0),
        ((), "B23001249", 7),
    ]


def test_only_the_last_few_are_kept(tmp_path: Path) -> None:
    store = make_recent(None, tmp_path)
    for n in range(KEPT + 10):
        store.add("T1", "U1", entry(float(n), f"ID{n}"))
    assert [e.ids[0] for e in store.latest("T1", "U1", limit=3)] == [
        f"ID{KEPT + 9}",
        f"ID{KEPT + 8}",
        f"ID{KEPT + 7}",
    ]
    with sqlite3.connect(tmp_path / "recent-lookups.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM kv_lists").fetchone()[0] == KEPT
