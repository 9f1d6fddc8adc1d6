"""The SQLite report cache: what one worker process of a host learned, the others read."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tasks.ekuaibao.masters import ReportInvoiceRef
from tasks.kv import SQLiteKV
from tasks.state.report_cache import KVReportCache, make_report_cache

REF = ReportInvoiceRef(invoice_id="ID01taxi", item_ids=("L1",), invoice_type="taxi")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_two_processes_share_one_file(tmp_path: Path) -> None:
    clock = Clock()
    first = KVReportCache(SQLiteKV(tmp_path / "c.sqlite3", clock=clock), "tenant-a")
    second = KVReportCache(SQLiteKV(tmp_path / "c.sqlite3", clock=clock), "tenant-a")
    first.put("B1", [REF])
    assert second.get("B1") == [REF]
    assert second.get_many(["B1", "B2"]) == {"B1": [REF]}


def test_entries_expire_and_tenants_stay_apart(tmp_path: Path) -> None:
    clock = Clock()
    a = KVReportCache(SQLiteKV(tmp_path / "c.sqlite3", clock=clock), "tenant-a")
    b = KVReportCache(SQLiteKV(tmp_path / "c.sqlite3", clock=clock), "tenant-b")
    a.put_many({"miss:X": [], "B1": [REF]}, ttl_s=600)
    assert b.get("B1") is None
    assert a.get_many(["miss:X"]) == {"miss:X": []}
    clock.now += 601
    assert a.get_many(["miss:X", "B1"]) == {}


def test_an_entry_another_version_wrote_reads_as_absent(tmp_path: Path) -> None:
    cache = KVReportCache(SQLiteKV(tmp_path / "c.sqlite3", clock=Clock()), "t")
    cache.put("B1", [REF])
    with sqlite3.connect(tmp_path / "c.sqlite3") as db:
        db.execute("UPDATE kv SET value = 'not json'")
    assert cache.get("B1") is None


def test_without_redis_the_cache_is_the_hosts_file(tmp_path: Path) -> None:
    make_report_cache(None, "t", tmp_path).put("B1", [REF])
    assert make_report_cache(None, "t", tmp_path).get("B1") == [REF]
    assert (tmp_path / "report-cache.sqlite3").exists()
