"""The shared Ekuaibao budget in Redis (database 13, or TEST_BUDGET_REDIS_URL): one line for
every worker, served by class and by person in turn, refusals that spend nothing, and a 429
that slows everyone down."""

import itertools
import os
import time

import pytest

from tasks.ekuaibao.budget import MAX_WAIT_S
from tasks.ekuaibao.budget_redis import RedisRateLimiter
from tasks.ekuaibao.line import Caller, Priority
from tests import services
from tests.integration.conftest import flush_redis, require_redis

BUDGET_REDIS_URL = os.environ.get("TEST_BUDGET_REDIS_URL", services.redis_url(services.BUDGET_DB))
_names = itertools.count()


@pytest.fixture(autouse=True)
def _redis() -> None:
    if "TEST_BUDGET_REDIS_URL" not in os.environ:
        require_redis()
    flush_redis(BUDGET_REDIS_URL)


def _workers(rate: float, burst: int) -> tuple[RedisRateLimiter, RedisRateLimiter]:
    return (
        RedisRateLimiter(BUDGET_REDIS_URL, "tenant", rate=rate, burst=burst),
        RedisRateLimiter(BUDGET_REDIS_URL, "tenant", rate=rate, burst=burst),
    )


def _caller(ticket: str = "", who: str = "", priority: Priority = "decision") -> Caller:
    name = f"call{next(_names)}"
    return Caller(name, ticket or name, who or name, priority)


def test_take_grants_free_slots_then_a_place_in_line() -> None:
    bucket, other = _workers(rate=1, burst=5)
    assert bucket.take(3, caller=_caller())[:2] == (3, 0.0)
    assert bucket.take(3, caller=_caller())[:2] == (2, 0.0)  # what was left
    granted, wait, _, queued = bucket.take(3, caller=_caller())
    assert granted == 0 and queued and 0.5 < wait <= 1.0
    assert other.take(caller=_caller()).wait_s > wait  # shared, and behind it


def test_two_workers_serve_one_line_by_class_then_person_in_turn() -> None:
    first, second = _workers(rate=10, burst=1)
    assert first.take(caller=_caller())[:2] == (1, 0.0)
    flood = [_caller("a", "flooder", "bulk") for _ in range(4)]
    other = _caller("b", "other", "bulk")
    decision = _caller("d", "approver", "decision")
    for n, caller in enumerate([*flood, other]):
        assert (first if n % 2 else second).take(caller=caller).queued
    assert second.take(caller=decision).ahead == 0  # ahead of every bulk lookup
    assert first.take(caller=other).ahead == 2  # behind the decision and one flood call


def test_a_refusal_spends_nothing() -> None:
    first, second = _workers(rate=5, burst=1)
    first.take(caller=_caller())
    for _ in range(int(MAX_WAIT_S * 5) - 1):
        assert first.take(caller=_caller()).queued
    line = second.take(max_wait_s=0, caller=_caller()).wait_s
    assert MAX_WAIT_S - 0.3 < line <= MAX_WAIT_S
    for _ in range(100):
        assert not second.take(max_wait_s=line - 1, caller=_caller()).queued
    assert second.take(max_wait_s=0, caller=_caller()).wait_s <= line  # nothing was taken


def test_a_429_seen_by_one_worker_slows_every_worker() -> None:
    first, second = _workers(rate=8, burst=8)
    assert first.slow_down(retry_after_s=2) == pytest.approx(4)
    asked = time.monotonic()
    held = second.take(caller=_caller()).wait_s
    assert 1.9 <= held <= 2.0  # Retry-After holds every worker back
    # The gap between the two grants' due times, not their waits: the second is asked later.
    later = time.monotonic() - asked
    gap = later + second.take(caller=_caller()).wait_s - held
    assert gap == pytest.approx(0.25, abs=0.01)  # then 4 per second, not 8
    assert second.slow_down(None) == pytest.approx(4)  # the same event: halved once
