"""The shared Ekuaibao budget: a token bucket whose callers wait in line for their slot,
are refused without spending one, and slow down together when Ekuaibao says 429."""

import itertools
import math

import httpx
import pytest

from tasks.ekuaibao import line
from tasks.ekuaibao.budget import (
    CUT_EVERY_S,
    FAR_POLL_S,
    LEASE_S,
    MAX_WAIT_S,
    MIN_POLL_S,
    POLL_S,
    QUIET_S,
    RAMP_S,
    TELL_AFTER_S,
    RateLimited,
    RateLimitedTransport,
    Waiting,
    effective_rate,
    floor_rate,
    lease_size,
    poll_in,
    waiting,
    waiting_as,
)
from tasks.ekuaibao.budget_sqlite import SQLiteRateLimiter
from tasks.ekuaibao.line import PRIORITIES, RESERVE, STALE_S, Bucket, Caller, Grant, Priority
from tests.fakes import Clock

UNBOUNDED = math.inf


def _bucket(tmp_path, clock, rate: float = 5, burst: int = 3) -> SQLiteRateLimiter:
    return SQLiteRateLimiter(tmp_path / "rate.sqlite3", rate=rate, burst=burst, clock=clock)


def _caller(name: str, ticket: str = "", who: str = "", priority: Priority = "decision"):
    """A caller of the first class, which leaves no reserve: the bucket's own arithmetic."""
    return Caller(name, ticket or name, who or name, priority)


def _once(n: itertools.count = itertools.count()) -> Caller:  # noqa: B008
    return _caller(f"once{next(n)}")


def test_burst_then_callers_wait_in_line_one_interval_apart(tmp_path) -> None:
    clock = Clock(1000.0)
    bucket = _bucket(tmp_path, clock)
    assert [bucket.take().granted for _ in range(3)] == [1, 1, 1]
    waiting = [_caller(name) for name in "abc"]
    first = [bucket.take(caller=c) for c in waiting]
    assert [g.granted for g in first] == [0, 0, 0] and all(g.queued for g in first)
    assert [g.wait_s for g in first] == pytest.approx([0.2, 0.4, 0.6])
    assert [bucket.take(caller=c).wait_s for c in waiting] == pytest.approx([0.2, 0.4, 0.6])
    clock.now += 0.2
    assert [bucket.take(caller=c).granted for c in reversed(waiting)] == [0, 0, 1]
    clock.now += 2  # refilled, capped at the burst; the line has gone
    assert [bucket.take(caller=c).granted for c in waiting[1:]] == [1, 1]
    assert bucket.take().granted == 1


def test_processes_share_the_bucket_and_its_line_through_the_file(tmp_path) -> None:
    clock = Clock(1000.0)
    first = _bucket(tmp_path, clock, rate=1, burst=1)
    second = _bucket(tmp_path, clock, rate=1, burst=1)
    assert first.take(caller=_caller("a")).granted == 1
    assert second.take(caller=_caller("b")).wait_s == pytest.approx(1.0)
    assert first.take(caller=_caller("c")).wait_s == pytest.approx(2.0)  # behind b
    clock.now += 1
    assert first.take(caller=_caller("c")).granted == 0  # b's turn, in the other process
    assert second.take(caller=_caller("b")).granted == 1


def test_a_refused_caller_does_not_spend_a_slot_nor_hold_a_place(tmp_path) -> None:
    clock = Clock(1000.0)
    bucket = _bucket(tmp_path, clock, rate=5, burst=1)
    bucket.take()
    for n in range(int(MAX_WAIT_S * 5)):  # the line is now 30 s long
        assert bucket.take(caller=_caller(f"w{n}")).queued
    before = bucket.take(max_wait_s=0, caller=_caller("late"))
    assert before.granted == 0 and not before.queued
    assert before.wait_s == pytest.approx(MAX_WAIT_S + 0.2)
    for n in range(100):
        assert not bucket.take(caller=_caller(f"r{n}")).queued  # refused, and nothing taken
    after = bucket.take(max_wait_s=0, caller=_caller("late"))
    assert after.wait_s == pytest.approx(before.wait_s)


def test_take_grants_what_is_free_or_a_place_in_line(tmp_path) -> None:
    clock = Clock(1000.0)
    bucket = _bucket(tmp_path, clock, rate=10, burst=5)
    assert bucket.take(3, caller=_once())[:2] == (3, 0.0)
    assert bucket.take(3, caller=_once())[:2] == (2, 0.0)  # only two left
    granted, wait, _, queued = bucket.take(3, caller=_caller("a"))
    assert granted == 0 and queued and wait == pytest.approx(0.1)


def test_a_caller_that_stops_asking_leaves_the_line(tmp_path) -> None:
    clock = Clock(1000.0)
    bucket = _bucket(tmp_path, clock, rate=1, burst=1)
    bucket.take()
    assert bucket.take(caller=_caller("gone")).wait_s == pytest.approx(1.0)
    assert bucket.take(caller=_caller("b")).wait_s == pytest.approx(2.0)
    clock.now += STALE_S + 0.5
    assert bucket.take(caller=_caller("b")).granted == 1  # "gone" did not come back


def test_lookups_ahead_counts_other_lookups_in_line_before_this_call() -> None:
    bucket = Bucket(tokens=0.0, ts=0.0)
    calls = [Caller(f"{t}{n}", t, t) for t, n in ("a1", "a2", "b1", "c1", "a3")]
    aheads = [_take(bucket, c).ahead for c in calls]
    assert aheads[:4] == [0, 0, 1, 2]  # a's own calls are not "ahead" of a
    assert aheads[4] == 2  # a's third call: behind b and c (its first two are its own)
    assert _take(bucket, Caller("d1", "d", "d")).ahead == 3


def _take(bucket: Bucket, caller: Caller, now: float = 0.0, cap: float = 10) -> Grant:
    return line.take(bucket, caller, 1, MAX_WAIT_S, now, rate=1.0, cap=cap)


def _served_in_turn(
    bucket: Bucket, callers: list[Caller], rounds: int | None = None, cap: float = 10
) -> list[str]:
    """One slot a round; every caller still in line asks again: who got each slot."""
    pending, served = list(callers), []
    for _ in range(len(callers) if rounds is None else rounds):
        bucket.tokens += 1
        for caller in list(pending):
            if _take(bucket, caller, cap=cap).granted:
                pending.remove(caller)
                served.append(caller.priority if rounds is None else caller.who)
    return served


def test_classes_are_served_in_order_whoever_queued_first() -> None:
    bucket = Bucket(tokens=0.0, ts=0.0)
    order = ["bulk", "interactive", "review", "decision"]
    callers = {p: Caller(p, p, "someone", p) for p in order}  # type: ignore[arg-type]
    for p in order:
        assert _take(bucket, callers[p], cap=1).queued
    assert _served_in_turn(bucket, list(callers.values()), cap=1) == [
        "decision",
        "review",
        "interactive",
        "bulk",
    ]


def test_each_class_leaves_slots_for_the_classes_above_it() -> None:
    assert [RESERVE[p] * 10 // 1 for p in PRIORITIES] == [0, 1, 2, 5]  # at a burst of 10
    bucket = Bucket(tokens=5.0, ts=0.0)
    assert _take(bucket, Caller("bulk", priority="bulk")).queued  # 5 left: bulk may not
    assert _take(bucket, Caller("i1", priority="interactive")).granted == 1
    assert _take(bucket, Caller("i2", priority="interactive")).granted == 1
    assert _take(bucket, Caller("i3", priority="interactive")).granted == 1
    assert _take(bucket, Caller("i4", priority="interactive")).queued  # 2 left for these
    assert _take(bucket, Caller("r", priority="review")).granted == 1
    assert _take(bucket, Caller("d", priority="decision")).granted == 1
    assert bucket.tokens == 0
    tiny = Bucket(tokens=1.0, ts=0.0)  # a burst of 1 reserves nothing: bulk still moves
    assert _take(tiny, Caller("bulk", priority="bulk"), cap=1).granted == 1


def test_people_are_served_in_turn_not_by_how_many_calls_they_queued() -> None:
    bucket = Bucket(tokens=0.0, ts=0.0)
    flood = [Caller(f"a{n}", f"a{n // 3}", "flooder") for n in range(30)]
    for c in flood:
        _take(bucket, c)
    others = [Caller(f"b{n}", "b", "other") for n in range(3)]
    for c in others:
        _take(bucket, c)
    served = _served_in_turn(bucket, [*flood, *others], rounds=8, cap=1)
    # the other person's three calls come within the first six, alternating with the flood
    assert served[:6] == ["flooder", "other"] * 3 and served[6:] == ["flooder", "flooder"]


def test_one_persons_lookups_are_served_in_the_order_they_joined() -> None:
    """Four calls each of lookups a, b, c, joining interleaved (a b c a b c…), as a burst's
    lookups do: a's calls go first, then b's, then c's, so a is answered after 4 slots,
    not 10; another person's call still gets the second slot."""
    bucket = Bucket(tokens=0.0, ts=0.0)
    calls = [Caller(f"{t}{n}", t, "approver") for n in range(4) for t in "abc"]
    for c in calls:
        _take(bucket, c)
    other = Caller("z", "z", "other")
    _take(bucket, other)
    served = _served_in_turn(bucket, [*calls, other], rounds=13, cap=1)
    assert served[:2] == ["approver", "other"]
    pending, order = [*calls], []
    bucket = Bucket(tokens=0.0, ts=0.0)
    for c in calls:
        _take(bucket, c)
    for _ in range(len(calls)):
        bucket.tokens += 1
        for c in list(pending):
            if _take(bucket, c, cap=1).granted:
                pending.remove(c)
                order.append(c.ticket)
    assert order == list("aaaabbbbcccc")


def test_a_429_halves_the_rate_holds_callers_back_and_it_recovers(tmp_path) -> None:
    clock = Clock(1000.0)
    bucket = _bucket(tmp_path, clock, rate=8, burst=8)
    assert bucket.slow_down(retry_after_s=3) == 4
    assert bucket.take(caller=_caller("a")).wait_s == pytest.approx(3)  # held for Retry-After
    assert bucket.take(caller=_caller("b")).wait_s == pytest.approx(3.25)  # then 4 per second
    clock.now += 1
    assert bucket.slow_down(None) == 4  # the same event: halved once, not twice
    clock.now += CUT_EVERY_S
    assert bucket.slow_down(None) == 2  # Ekuaibao still refuses: halved again
    clock.now += 30
    assert bucket.take(caller=_once()).granted == 1  # the held-back line drained at 2/s
    clock.now += QUIET_S - 30 + RAMP_S / 2  # half-way up the ramp after a quiet minute
    assert (
        bucket.take(want=8, caller=_once()).granted == 5
    )  # (2 + 8) / 2 = 5 per second: a burst of 5
    waits = [bucket.take(caller=_caller(f"w{n}")).wait_s for n in range(5)]
    gaps = {round(b - a, 3) for a, b in itertools.pairwise(waits)}
    assert gaps == {round(1 / 5, 3)}
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


def _sleeping(clock: Clock, slept: list[float]):
    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    return sleep


def test_transport_waits_its_turn_or_refuses_a_long_wait(tmp_path) -> None:
    clock = Clock(1000.0)
    slept: list[float] = []
    bucket = _bucket(tmp_path, clock, rate=1, burst=1)
    inner = httpx.MockTransport(lambda request: httpx.Response(200, json={"items": []}))
    client = _client(RateLimitedTransport(inner, bucket, sleep=_sleeping(clock, slept)))
    assert client.post("/x").status_code == 200 and slept == []
    assert client.post("/x").status_code == 200
    assert slept == [pytest.approx(POLL_S), pytest.approx(POLL_S)]  # asked again, then served
    for n in range(int(MAX_WAIT_S) + 1):
        bucket.take(caller=_caller(f"ahead{n}"))
    with pytest.raises(RateLimited) as refused:
        client.post("/x")
    assert refused.value.wait_s > MAX_WAIT_S


def test_a_caller_far_back_in_line_asks_again_less_often_but_before_its_turn() -> None:
    assert poll_in(0.2) == 0.2 and poll_in(0.001) == MIN_POLL_S
    assert poll_in(0.8) == POLL_S  # near its turn: twice a second
    assert poll_in(1.5) == pytest.approx(1.5 - POLL_S)  # just before its turn
    assert poll_in(20.0) == FAR_POLL_S < STALE_S / 2  # far back: still seen as waiting


def test_a_long_wait_is_told_once_with_the_lookups_ahead(tmp_path) -> None:
    clock = Clock(1000.0)
    slept: list[float] = []
    told: list[tuple[float, int]] = []
    bucket = _bucket(tmp_path, clock, rate=1, burst=1)
    inner = httpx.MockTransport(lambda request: httpx.Response(200))
    client = _client(RateLimitedTransport(inner, bucket, sleep=_sleeping(clock, slept)))
    bucket.take(caller=_caller("a"))  # free: not in the line
    others = [_caller(name, priority="interactive") for name in "bcde"]
    for other in others:
        bucket.take(caller=other)
    tell = Waiting("mine", lambda wait, ahead: told.append((wait, ahead)), "me", "interactive")
    token = waiting.set(tell)
    try:
        client.post("/x")
    finally:
        waiting.reset(token)
    assert TELL_AFTER_S < 5.0
    assert told == [(pytest.approx(5.0), 4)]  # b…e are ahead, each a lookup of its own
    assert STALE_S < sum(slept) <= STALE_S + FAR_POLL_S  # they stopped asking: gone
    client.post("/x")  # outside a lookup: nobody to tell
    assert len(told) == 1


def test_the_transport_waits_with_its_tasks_person_and_class(tmp_path) -> None:
    clock = Clock(1000.0)
    slept: list[float] = []
    bucket = _bucket(tmp_path, clock, rate=1, burst=10)
    inner = httpx.MockTransport(lambda request: httpx.Response(200))
    client = _client(RateLimitedTransport(inner, bucket, sleep=_sleeping(clock, slept)))
    for n in range(5):  # bulk leaves half the bucket for the classes above it
        assert bucket.take(caller=_caller(f"bulk{n}", priority="bulk")).granted == 1
    assert bucket.take(caller=_caller("more bulk", priority="bulk")).queued
    with waiting_as("approver", "decision"):
        client.post("/x")
    assert slept == []  # the decision did not wait behind the bulk lookups


def test_a_429_answer_lowers_the_shared_rate(tmp_path) -> None:
    clock = Clock(1000.0)
    bucket = _bucket(tmp_path, clock, rate=10, burst=10)
    answers = iter([httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200)])
    inner = httpx.MockTransport(lambda request: next(answers))
    client = _client(RateLimitedTransport(inner, bucket, sleep=lambda s: None))
    assert client.post("/x").status_code == 429
    assert bucket.take(caller=_once()).wait_s == pytest.approx(2.0)  # held for Retry-After
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

    def counting_take(want: int = 1, max_wait_s: float = MAX_WAIT_S, caller=None):
        takes.append(want)
        return real_take(want, max_wait_s, caller)

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
    assert real_take(100, caller=_once())[:2] == (84, 0.0)
