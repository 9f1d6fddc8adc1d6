"""The shared Ekuaibao budget in Redis (database 13): one line for every worker, refusals
that spend nothing, and a 429 that slows everyone down."""

import pytest

from tasks.ekuaibao.budget import MAX_WAIT_S
from tasks.ekuaibao.budget_redis import RedisRateLimiter
from tests.integration.conftest import flush_redis, require_redis

pytestmark = pytest.mark.redis
BUDGET_REDIS_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture(autouse=True)
def _redis() -> None:
    require_redis()
    flush_redis(BUDGET_REDIS_URL)


def _workers(rate: float, burst: int) -> tuple[RedisRateLimiter, RedisRateLimiter]:
    return (
        RedisRateLimiter(BUDGET_REDIS_URL, "tenant", rate=rate, burst=burst),
        RedisRateLimiter(BUDGET_REDIS_URL, "tenant", rate=rate, burst=burst),
    )


def test_take_grants_free_slots_then_one_after_a_wait() -> None:
    bucket, other = _workers(rate=1, burst=5)
    assert bucket.take(3)[:2] == (3, 0.0)
    assert bucket.take(3)[:2] == (2, 0.0)  # what was left
    granted, wait, _ = bucket.take(3)
    assert granted == 1 and 0.5 < wait <= 1.0
    assert other.take().wait_s > wait  # shared


def test_two_workers_wait_in_one_line() -> None:
    first, second = _workers(rate=10, burst=2)
    assert first.take()[:2] == (1, 0.0) and second.take()[:2] == (1, 0.0)
    waits = [(first if n % 2 else second).take().wait_s for n in range(6)]
    assert waits == sorted(waits)  # first come, first served, whichever worker asks
    assert 0.5 <= waits[-1] <= 0.6  # the sixth in line: 0.6 s at 10 per second


def test_a_refusal_spends_nothing() -> None:
    first, second = _workers(rate=5, burst=1)
    first.take()
    for _ in range(int(MAX_WAIT_S * 5) - 1):
        assert first.take().granted == 1
    line = second.take(max_wait_s=0).wait_s
    assert MAX_WAIT_S - 0.3 < line <= MAX_WAIT_S
    for _ in range(100):
        assert second.take(max_wait_s=line - 1).granted == 0
    assert second.take(max_wait_s=0).wait_s <= line  # the 100 refusals took no slot


def test_lookups_ahead_are_counted_across_workers() -> None:
    first, second = _workers(rate=1, burst=1)
    first.take(ticket="a")
    first.take(ticket="a")
    second.take(ticket="b")
    assert first.take(ticket="c").ahead == 2
    assert second.take(ticket="a").ahead == 2  # a's own earlier call is not ahead of it


def test_a_429_seen_by_one_worker_slows_every_worker() -> None:
    first, second = _workers(rate=8, burst=8)
    assert first.slow_down(retry_after_s=2) == pytest.approx(4)
    held = second.take().wait_s
    assert 1.9 <= held <= 2.0  # Retry-After holds every worker back
    gap = second.take().wait_s - held
    assert gap == pytest.approx(0.25, abs=0.01)  # then 4 per second, not 8
    assert second.slow_down(None) == pytest.approx(4)  # the same event: halved once
