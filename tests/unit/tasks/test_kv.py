"""The SQLite side of the one key-value interface, on an injected clock; the same
contract runs against Redis in tests/integration/test_kv.py."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from tasks.kv import SQLiteKV
from tasks.shared.dedup import make_dedup, make_ledger
from tasks.state.decision_ledger import make_ledger as make_decisions


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_claim_is_taken_once_until_it_lapses(tmp_path: Path) -> None:
    clock = Clock()
    kv = SQLiteKV(tmp_path / "kv.sqlite3", clock=clock)
    assert kv.claim("k", "first", 10) is None
    assert kv.claim("k", "second", 10) == "first"
    assert kv.get("k") == "first" and kv.left_s("k") == pytest.approx(10)
    clock.now += 10
    assert kv.get("k") is None and kv.left_s("k") is None
    assert kv.claim("k", "second", 10) is None and kv.get("k") == "second"


def test_put_overwrites_and_delete_frees(tmp_path: Path) -> None:
    clock = Clock()
    kv = SQLiteKV(tmp_path / "kv.sqlite3", clock=clock)
    kv.put("k", "a", 5)
    kv.put("k", "b", 5)
    assert kv.claim("k", "c", 5) == "b"
    kv.delete("k")
    assert kv.get("k") is None and kv.claim("k", "c", 5) is None


def test_two_handles_on_one_file_see_one_claim(tmp_path: Path) -> None:
    one, two = SQLiteKV(tmp_path / "kv.sqlite3"), SQLiteKV(tmp_path / "kv.sqlite3")
    assert one.claim("k", "one", 60) is None
    assert two.claim("k", "two", 60) == "one"


def _legacy(path: Path, ddl: str, rows: list[tuple[object, ...]]) -> None:
    db = sqlite3.connect(path)
    db.execute(ddl)
    marks = ",".join("?" * len(rows[0]))
    db.executemany(f"INSERT INTO {ddl.split()[5]} VALUES ({marks})", rows)
    db.commit()
    db.close()


def test_an_upgrade_keeps_what_the_last_release_wrote(tmp_path: Path) -> None:
    """Live rows of the old per-store tables move into the one table; expired ones go."""
    now = time.time()
    _legacy(
        tmp_path / "replies.sqlite3",
        "CREATE TABLE IF NOT EXISTS ledger (key TEXT PRIMARY KEY, value TEXT, until REAL)",
        [("r-done", "done", now + 3600), ("r-old", "done", now - 1)],
    )
    _legacy(
        tmp_path / "seen.sqlite3",
        "CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, until REAL)",
        [("event-1", now + 600)],
    )
    _legacy(
        tmp_path / "decisions.sqlite3",
        "CREATE TABLE IF NOT EXISTS ledger (key TEXT PRIMARY KEY, record TEXT, until REAL)",
        [("F1:N1:S1", '{"phase": "sent"}', now + 3600)],
    )
    replies = make_ledger(None, tmp_path)
    assert replies.state("r-done") == "done" and replies.state("r-old") is None
    assert make_dedup(None, tmp_path).first("event-1") is False
    assert make_decisions(None, tmp_path).get("F1:N1:S1") == {"phase": "sent"}
    tables = sqlite3.connect(tmp_path / "replies.sqlite3").execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'"
    )
    assert sorted(name for (name,) in tables) == ["kv", "kv_fields", "kv_lists"]  # "ledger" went


def test_the_decision_slot_is_one_claim_a_tenant_per_interval(tmp_path: Path) -> None:
    decisions = make_decisions(None, tmp_path)
    assert decisions.slot("t1", 60) == 0.0
    assert 59 < decisions.slot("t1", 60) <= 60
    assert decisions.slot("t2", 60) == 0.0
    assert decisions.claim("F:N:S", {"phase": "claimed"}) is None
    assert decisions.claim("F:N:S", {"phase": "other"}) == {"phase": "claimed"}
    decisions.release("F:N:S")
    assert decisions.get("F:N:S") is None


def test_updates_from_two_handles_and_threads_are_never_lost(tmp_path: Path) -> None:
    """The budget's and in-flight rule's store on one host: read, change, write as one."""
    handles = [SQLiteKV(tmp_path / "state.sqlite3"), SQLiteKV(tmp_path / "state.sqlite3")]

    def count(state: dict[str, int], now: float) -> int:
        state["n"] = state.get("n", 0) + 1
        return state["n"]

    def many(kv: SQLiteKV) -> None:
        for _ in range(50):
            kv.update("budget", count, 600)

    threads = [threading.Thread(target=many, args=(kv,)) for kv in handles * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert handles[0].update("budget", count, 600) == 201


def test_an_update_sees_the_file_s_clock_and_state_expires(tmp_path: Path) -> None:
    clock = Clock()
    kv = SQLiteKV(tmp_path / "state.sqlite3", clock=clock)
    assert kv.update("k", lambda state, now: (state.setdefault("at", now), now)[1], 60) == clock.now
    clock.now += 61
    assert kv.update("k", lambda state, now: dict(state), 60) == {}


def test_a_small_map_keeps_its_fields_apart_and_lives_as_one(tmp_path: Path) -> None:
    clock = Clock()
    kv = SQLiteKV(tmp_path / "kv.sqlite3", clock=clock)
    kv.field_put("F1", "S1", "card one", 60)
    clock.now += 30
    kv.field_put("F1", "S2", "card two", 60)  # the whole map now lives 60 s from here
    kv.field_put("F2", "S1", "other report", 10)
    assert kv.fields("F1") == {"S1": "card one", "S2": "card two"}
    assert kv.field_get("F1", "S2") == "card two" and kv.field_get("F1", "S3") is None
    kv.field_delete("F1", "S2")
    clock.now += 40
    assert kv.fields("F1") == {"S1": "card one"} and kv.fields("F2") == {}


def test_cards_posted_before_an_upgrade_are_still_found(tmp_path: Path) -> None:
    from tasks.state.review_cards import Card, make_cards

    card = '{"channel": "D1", "ts": "1.2", "slack_user": "U1", "code": "B1", "title": "t"}'
    _legacy(
        tmp_path / "review-cards.sqlite3",
        "CREATE TABLE IF NOT EXISTS cards (flow TEXT, staff TEXT, card TEXT, until REAL,"
        " PRIMARY KEY (flow, staff))",
        [("F1", "S1", card, time.time() + 3600), ("F1", "S2", "not json", time.time() + 3600)],
    )
    cards = make_cards(None, tmp_path)
    assert cards.get("F1", "S1") == Card("D1", "1.2", "U1", "B1", "t")
    assert cards.of_flow("F1") == {"S1": Card("D1", "1.2", "U1", "B1", "t")}


def test_recent_lookups_asked_before_an_upgrade_are_still_shown(tmp_path: Path) -> None:
    from tasks.state.recent import RecentLookup, make_recent

    old = RecentLookup(("ID1",), "", time.time() - 60, 1, 0)
    _legacy(
        tmp_path / "recent-lookups.sqlite3",
        "CREATE TABLE IF NOT EXISTS recent (who TEXT, at REAL, entry TEXT, until REAL)",
        [("T1:U1", old.at, json.dumps(dataclasses.asdict(old)), time.time() + 3600)],
    )
    recent = make_recent(None, tmp_path)
    recent.add("T1", "U1", RecentLookup((), "B1", time.time(), 3, 0))
    assert [(e.ids, e.report) for e in recent.latest("T1", "U1")] == [((), "B1"), (("ID1",), "")]
