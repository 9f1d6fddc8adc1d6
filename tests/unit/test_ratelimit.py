"""The shared Ekuaibao budget: a token bucket that hands out waits, never busy-loops."""

import httpx
import pytest

from tasks.ratelimit import (
    LEASE_S,
    MAX_WAIT_S,
    RateLimited,
    RateLimitedTransport,
    SQLiteRateLimiter,
    lease_size,
)

pytestmark = pytest.mark.no_net


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_one_slot_per_interval(tmp_path) -> None:
    clock = Clock()
    bucket = SQLiteRateLimiter(tmp_path / "rate.sqlite3", rate=5, burst=3, clock=clock)
    assert [bucket.reserve() for _ in range(3)] == [0, 0, 0]
    waits = [bucket.reserve() for _ in range(3)]
    assert waits == pytest.approx([0.2, 0.4, 0.6])
    clock.now += 2  # refilled: 10 tokens' worth, capped at the burst
    assert bucket.reserve() == 0


def test_processes_share_the_bucket_through_the_file(tmp_path) -> None:
    clock = Clock()
    first = SQLiteRateLimiter(tmp_path / "rate.sqlite3", rate=1, burst=1, clock=clock)
    second = SQLiteRateLimiter(tmp_path / "rate.sqlite3", rate=1, burst=1, clock=clock)
    assert first.reserve() == 0
    assert second.reserve() == pytest.approx(1.0)


def test_transport_waits_for_its_slot_or_refuses_a_long_wait(tmp_path) -> None:
    clock = Clock()
    slept: list[float] = []
    bucket = SQLiteRateLimiter(tmp_path / "rate.sqlite3", rate=1, burst=1, clock=clock)
    inner = httpx.MockTransport(lambda request: httpx.Response(200, json={"items": []}))
    client = httpx.Client(
        transport=RateLimitedTransport(inner, bucket, sleep=slept.append),
        base_url="https://ekb.test",
    )
    assert client.post("/x").status_code == 200 and slept == []
    assert client.post("/x").status_code == 200 and slept == [pytest.approx(1.0)]
    for _ in range(int(MAX_WAIT_S) + 1):
        bucket.reserve()
    with pytest.raises(RateLimited):
        client.post("/x")


def test_take_grants_what_is_free_or_one_slot_after_a_wait(tmp_path) -> None:
    clock = Clock()
    bucket = SQLiteRateLimiter(tmp_path / "rate.sqlite3", rate=10, burst=5, clock=clock)
    assert bucket.take(3) == (3, 0.0)
    assert bucket.take(3) == (2, 0.0)  # only two left
    granted, wait = bucket.take(3)  # empty: one slot, a tenth of a second away
    assert granted == 1 and wait == pytest.approx(0.1)


def test_lease_size_is_exact_for_tight_budgets_and_small_for_generous_ones() -> None:
    assert lease_size(5, 10) == 1  # the default budget: one slot per request, exactly
    assert lease_size(20, 40) == 1
    assert lease_size(1000, 10000) == 50  # 50 ms of budget at a time
    assert lease_size(1000, 100) == 10  # never more than a tenth of the burst


def test_a_lease_is_spent_locally_then_renewed_and_never_kept_past_its_time(tmp_path) -> None:
    clock = Clock()
    bucket = SQLiteRateLimiter(tmp_path / "rate.sqlite3", rate=100, burst=100, clock=clock)
    takes: list[int] = []
    real_take = bucket.take

    def counting_take(want: int = 1) -> tuple[int, float]:
        takes.append(want)
        return real_take(want)

    bucket.take = counting_take  # type: ignore[method-assign]
    local = Clock()
    inner = httpx.MockTransport(lambda request: httpx.Response(200))
    client = httpx.Client(
        transport=RateLimitedTransport(inner, bucket, lease=4, sleep=pytest.fail, clock=local),
        base_url="https://ekb.test",
    )
    for _ in range(8):
        client.post("/x")
    assert takes == [4, 4]  # eight requests, two trips to the shared bucket
    client.post("/x")
    assert takes == [4, 4, 4]
    local.now += LEASE_S + 0.01  # the three slots left are dropped, not saved up
    client.post("/x")
    assert takes == [4, 4, 4, 4]
    # the bucket was charged for every slot leased: 16 of 100
    assert real_take(100) == (84, 0.0)
