"""One contract, both implementations of the key-value interface: what Redis answers,
SQLite answers, so a store behaves the same with or without Redis."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tasks.kv import KV, RedisKV, SQLiteKV
from tests import services
from tests.integration.conftest import require_redis


@pytest.fixture(params=["redis", "sqlite"])
def kv(request: pytest.FixtureRequest, tmp_path: Path) -> KV:
    if request.param == "sqlite":
        return SQLiteKV(tmp_path / "kv.sqlite3")
    require_redis()
    return RedisKV(services.redis_url(services.SPARE_DB), f"invoicebot:test-kv:{time.time_ns()}:")


def test_claim_get_put_delete_agree(kv: KV) -> None:
    assert kv.get("k") is None and kv.left_s("k") is None
    assert kv.claim("k", "first 第一", 30) is None
    assert kv.claim("k", "second", 30) == "first 第一"
    left = kv.left_s("k")
    assert left is not None and 29 < left <= 30
    kv.put("k", "done", 60)
    assert kv.claim("k", "again", 30) == "done" and kv.get("k") == "done"
    kv.delete("k")
    assert kv.get("k") is None and kv.claim("k", "again", 30) is None


def test_a_lapsed_claim_can_be_taken(kv: KV) -> None:
    assert kv.claim("k", "a", 0.05) is None
    deadline = time.monotonic() + 5
    while kv.get("k") is not None and time.monotonic() < deadline:
        time.sleep(0.01)  # waits for the expiry itself, not a fixed time
    assert kv.claim("k", "b", 30) is None and kv.get("k") == "b"


def test_small_maps_agree(kv: KV) -> None:
    assert kv.fields("F") == {} and kv.field_get("F", "a") is None
    kv.field_put("F", "a", "一", 30)
    kv.field_put("F", "b", "two", 30)
    kv.field_put("G", "a", "other", 30)
    assert kv.fields("F") == {"a": "一", "b": "two"} and kv.field_get("F", "b") == "two"
    kv.field_delete("F", "a")
    assert kv.fields("F") == {"b": "two"} and kv.fields("G") == {"a": "other"}


def test_capped_lists_agree(kv: KV) -> None:
    assert kv.list_items("L", 5) == []
    for n in range(7):
        kv.list_push("L", f"v{n}", 4, 30)
    kv.list_push("M", "other", 4, 30)
    assert kv.list_items("L", 10) == ["v6", "v5", "v4", "v3"]
    assert kv.list_items("L", 2) == ["v6", "v5"] and kv.list_items("M", 5) == ["other"]
