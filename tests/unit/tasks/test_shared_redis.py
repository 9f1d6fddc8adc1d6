"""Every store of a process talks to one Redis through one client (one connection pool)."""

from typing import Any

import pytest

from tasks.ekuaibao import budget_redis, tokens
from tasks.kv import on_redis
from tasks.shared import dedup
from tasks.shared_redis import TIMEOUT_S, shared_redis
from tasks.state import decision_ledger as ledger
from tasks.state import recent, report_cache
from tasks.state import review_cards as store

URL = "redis://127.0.0.1:1/9"


def test_one_client_per_url() -> None:
    client = shared_redis(URL)
    assert shared_redis(URL) is client
    assert shared_redis("redis://127.0.0.1:1/8") is not client
    kwargs = client.connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == kwargs["socket_connect_timeout"] == TIMEOUT_S


def test_every_redis_store_takes_the_shared_client(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    asked: list[str] = []

    def recording(url: str) -> Any:
        asked.append(url)
        return shared_redis(url)

    modules = (budget_redis, tokens, on_redis)
    for module in modules:
        monkeypatch.setattr(module, "shared_redis", recording)
    dedup.make_dedup(URL, tmp_path)
    dedup.make_ledger(URL, tmp_path)
    recent.make_recent(URL, tmp_path)
    tokens.RedisTokenStore(URL, "k")
    report_cache.make_report_cache(URL, "tenant", tmp_path)
    budget_redis.RedisState(URL, "p")
    ledger.make_ledger(URL, tmp_path)
    store.make_cards(URL, tmp_path)
    assert asked == [URL] * 8
    assert not list(tmp_path.iterdir())  # with Redis, no SQLite file is made
