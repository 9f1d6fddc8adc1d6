"""The shared Ekuaibao budget: a token bucket whose callers wait in line for their slot,
are refused without spending one, and slow down together when Ekuaibao says 429."""

import itertools
import math

import httpx
import pytest

from tasks.ekuaibao.budget import (
    CUT_EVERY_S,
    LEASE_S,
    MAX_WAIT_S,
    QUIET_S,
    RAMP_S,
    TELL_AFTER_S,
    RateLimited,
    RateLimitedTransport,
    Waiting,
    effective_rate,
    floor_rate,
    lease_size,
    waiting,
)
from tasks.ekuaibao.budget_sqlite import SQLiteRateLimiter
from tests.fakes import Clock

pytestmark = pytest.mark.no_net
UNBOUNDED = math.inf


def _bucket(tmp_path, clock, rate: float = 5, burst: int = 3) -> SQLiteRateLimiter:
    return SQLiteRateLimiter(tmp_path / "rate.sqlite3", rate=rate, burst=burst, clock=clock)


def test_burst_then_callers_wait_in_line_one_interval_apart(tmp_path) -> None:
    clock = Clock(1000.0)
    bucket = _bucket(tmp_path, clock)
    assert [bucket.take().wait_s for _ in range(3)] == [0, 0, 0]
    assert [bucket.take().wait_s for _ in range(3)] == pytest.approx([0.2, 0.4, 0.6])
    clock.now += 2  # refilled: 10 tokens' worth, capped at the burst
    assert bucket.take().wait_s == 0


def test_processes_share_the_bucket_through_the_file(tmp_path) -> None:
    clock = Clock(1000.0)
    first = _bucket(tmp_path, clock, rate=1, burst=1)
    second = _bucket(tmp_path, clock, rate=1, burst=1)
    assert first.take().wait_s == 0
    assert second.take().wait_s == pytest.approx(1.0)


def test_a_refused_caller_does_not_spend_a_slot(tmp_path) -> None:
    clock = Clock(1000.0)
    bucket = _bucket(tmp_path, clock, rate=5, burst=1)
    bucket.take()
    for _ in range(int(MAX_WAIT_S * 5)):  # the line is now 30 s long
        assert bucket.take().granted == 1
    before = bucket.take(max_wait_s=0)
    assert before.granted == 0 and before.wait_s == pytest.approx(MAX_WAIT_S + 0.2)
    for _ in range(100):
        assert bucket.take().granted == 0  # refused, and nothing taken
    after = bucket.take(max_wait_s=0)
    assert after.wait_s == pytest.approx(before.wait_s)
    clock.now += 20  # the line moved on: the next caller waits what is left, not more
    assert bucket.take().wait_s == pytest.approx(MAX_WAIT_S + 0.2 - 20)


def test_take_grants_what_is_free_or_one_slot_after_a_wait(tmp_path) -> None:
    clock = Clock(1000.0)
    bucket = _bucket(tmp_path, clock, rate=10, burst=5)
    assert bucket.take(3)[:2] == (3, 0.0)
    assert bucket.take(3)[:2] == (2, 0.0)  # only two left
    granted, wait, _ = bucket.take(3)  # empty: one slot, a tenth of a second away
    assert granted == 1 and wait == pytest.approx(0.1)


def test_lookups_ahead_counts_other_lookups_waiting_for_earlier_slots(tmp_path) -> None:
    clock = Clock(1000.0)
    bucket = _bucket(tmp_path, clock, rate=1, burst=1)
    bucket.take(ticket="a")  # free: not in the line
    assert bucket.take(ticket="a").ahead == 0
    assert bucket.take(ticket="a").ahead == 0  # its own calls are not "ahead"
    assert bucket.take(ticket="b").ahead == 1
    assert bucket.take(ticket="c").ahead == 2
    assert bucket.take(ticket="a").ahead == 2  # a's last call is now behind b and c
    clock.now += 3.5  # a's first two calls and b's have gone
    assert bucket.take(ticket="d").ahead == 2  # c, and a's last call


def test_a_429_halves_the_rate_holds_callers_back_and_it_recovers(tmp_path) -> None:
    clock = Clock(1000.0)
    bucket = _bucket(tmp_path, clock, rate=8, burst=8)
    assert bucket.slow_down(retry_after_s=3) == 4
    assert bucket.take().wait_s == pytest.approx(3)  # everyone holds for Retry-After
    assert bucket.take().wait_s == pytest.approx(3.25)  # then 4 per second
    clock.now += 1
    assert bucket.slow_down(None) == 4  # the same event: halved once, not twice
    clock.now += CUT_EVERY_S
    assert bucket.slow_down(None) == 2  # Ekuaibao still refuses: halved again
    clock.now += 30
    assert bucket.take().wait_s == 0  # the held-back line has drained at 2 per second
    clock.now += QUIET_S - 30 + RAMP_S / 2  # half-way up the ramp after a quiet minute
    first = bucket.take(want=1).wait_s
    assert first == 0
    drained = [bucket.take().wait_s for _ in range(20)]
    gaps = {round(b - a, 3) for a, b in itertools.pairwise(drained) if a > 0}
    assert gaps == {round(1 / 5, 3)}  # (2 + 8) / 2 = 5 per second
    clock.now += RAMP_S
    assert effective_rate(8, 2, clock.now - QUIET_S - RAMP_S, clock.now) == 8


def test_the_rate_never_drops_below_its_floor(tmp_path) -> None:
    clock = Clock(1000.0)
    bucket = _bucket(tmp_path, clock, rate=8, burst=8)
    for _ in range(20):
        rate = bucket.slow_down(None)
        clock.now += CUT_EVERY_S
    assert rate == floor_rate(8) == 0.5


def _client(transport: httpx.BaseTransport) -> httpx.Client:
    return httpx.Client(transport=transport, base_url="https://ekb.test")


def test_transport_waits_for_its_slot_or_refuses_a_long_wait(tmp_path) -> None:
    clock = Clock(1000.0)
    slept: list[float] = []
    bucket = _bucket(tmp_path, clock, rate=1, burst=1)
    inner = httpx.MockTransport(lambda request: httpx.Response(200, json={"items": []}))
    client = _client(RateLimitedTransport(inner, bucket, sleep=slept.append))
    assert client.post("/x").status_code == 200 and slept == []
    assert client.post("/x").status_code == 200 and slept == [pytest.approx(1.0)]
    for _ in range(int(MAX_WAIT_S)):
        bucket.take()
    with pytest.raises(RateLimited) as refused:
        client.post("/x")
    assert refused.value.wait_s > MAX_WAIT_S


def test_a_long_wait_is_told_once_with_the_lookups_ahead(tmp_path) -> None:
    clock = Clock(1000.0)
    slept: list[float] = []
    told: list[tuple[float, int]] = []
    bucket = _bucket(tmp_path, clock, rate=1, burst=1)
    inner = httpx.MockTransport(lambda request: httpx.Response(200))
    client = _client(RateLimitedTransport(inner, bucket, sleep=slept.append))
    for other in ("a", "b", "c", "d", "e"):
        bucket.take(ticket=other)
    token = waiting.set(Waiting("mine", lambda wait, ahead: told.append((wait, ahead))))
    try:
        client.post("/x")
    finally:
        waiting.reset(token)
    assert slept == [pytest.approx(5.0)] and TELL_AFTER_S < 5.0
    assert told == [(pytest.approx(5.0), 4)]  # b…e wait for earlier slots (a had one free)
    client.post("/x")  # outside a lookup: nobody to tell
    assert len(told) == 1


def test_a_429_answer_lowers_the_shared_rate(tmp_path) -> None:
    clock = Clock(1000.0)
    bucket = _bucket(tmp_path, clock, rate=10, burst=10)
    answers = iter([httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200)])
    inner = httpx.MockTransport(lambda request: next(answers))
    client = _client(RateLimitedTransport(inner, bucket, sleep=lambda s: None))
    assert client.post("/x").status_code == 429
    assert bucket.take().wait_s == pytest.approx(2.0)  # held back for Retry-After
    assert bucket.slow_down(None) == 5  # already halved (and within the same event)


def test_lease_size_is_exact_for_tight_budgets_and_small_for_generous_ones() -> None:
    assert lease_size(5, 10) == 1  # the default budget: one slot per request, exactly
    assert lease_size(20, 40) == 1
    assert lease_size(1000, 10000) == 50  # 50 ms of budget at a time
    assert lease_size(1000, 100) == 10  # never more than a tenth of the burst


def test_a_lease_is_spent_locally_then_renewed_and_never_kept_past_its_time(tmp_path) -> None:
    clock = Clock(1000.0)
    bucket = _bucket(tmp_path, clock, rate=100, burst=100)
    takes: list[int] = []
    real_take = bucket.take

    def counting_take(want: int = 1, max_wait_s: float = MAX_WAIT_S, ticket: str = ""):
        takes.append(want)
        return real_take(want, max_wait_s, ticket)

    bucket.take = counting_take  # type: ignore[method-assign]
    local = Clock(1000.0)
    inner = httpx.MockTransport(lambda request: httpx.Response(200))
    client = _client(RateLimitedTransport(inner, bucket, lease=4, sleep=pytest.fail, clock=local))
    for _ in range(8):
        client.post("/x")
    assert takes == [4, 4]  # eight requests, two trips to the shared bucket
    client.post("/x")
    assert takes == [4, 4, 4]
    local.now += LEASE_S + 0.01  # the three slots left are dropped, not saved up
    client.post("/x")
    assert takes == [4, 4, 4, 4]
    # the bucket was charged for every slot leased: 16 of 100
    assert real_take(100)[:2] == (84, 0.0)
