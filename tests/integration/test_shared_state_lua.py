"""The Lua scripts of the shared state follow their Python rule exactly (Redis database 13, or
TEST_BUDGET_REDIS_URL): random sequences of callers, priorities, wants, clock steps and 429s
(of lookups entering and leaving, for the per-person cap) give the same grants and
admissions, to the last bit of every wait, and leave the same JSON state; a key updated by
both (workers of two versions during a deploy) follows the same rule; and the state
outlives its last update by KEEP_S."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tasks.ekuaibao.budget_redis import BUDGET_PREFIX, RedisRateLimiter, RedisState
from tasks.ekuaibao.budget_store import KEEP_S, LineLimiter
from tasks.ekuaibao.line import PRIORITIES, Caller
from tasks.state.inflight import GRACE_S, PREFIX, RUNNING_S, InFlight, RedisInFlight
from tests import services
from tests.fakes import Clock
from tests.integration.conftest import flush_redis, require_redis

REDIS_URL = os.environ.get("TEST_BUDGET_REDIS_URL", services.redis_url(services.BUDGET_DB))
#: An epoch time with microseconds: 16 significant digits, more than cjson writes.
START = 1_796_000_000.123456
T = TypeVar("T")
PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module", autouse=True)
def _redis() -> None:
    if "TEST_BUDGET_REDIS_URL" not in os.environ:
        require_redis()
    flush_redis(REDIS_URL)


class MemoryState:
    """The Python rule's store, in memory: JSON in and out, as the real stores keep it."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.states: dict[str, str] = {}
        self._clock = clock

    def update(self, key: str, change: Callable[[dict[str, Any], float], T]) -> T:
        state = json.loads(self.states.get(key, "{}"))
        result = change(state, self._clock())
        self.states[key] = json.dumps(state)
        return result


def _stored(name: str) -> Any:
    import redis

    return json.loads(redis.Redis.from_url(REDIS_URL).get(name) or b"null")


# Clock steps in microseconds: mostly none (ties) or small, so that lines form; sometimes past
# STALE_S, QUIET_S or RAMP_S.
STEPS = st.sampled_from(
    [0, 0, 0, 1, 1_000, 37_000, 37_000, 250_000, 999_999, 2_000_001, 61_500_000, 130_000_000]
)
CALLERS = st.lists(
    st.tuples(
        st.sampled_from(["", "t1", "t2", "t3"]),
        st.sampled_from(["ann", "ann", "bob", "cé"]),  # often one person's several calls
        st.sampled_from([*PRIORITIES, "bulk", "bulk"]),  # often in one class
    ),
    min_size=1,
    max_size=8,
)
TAKE = st.tuples(
    st.just("take"),
    st.integers(0, 7),  # which caller
    st.integers(1, 3),  # want
    st.sampled_from([0.0, 0.3, 2.0, 30.0, 30.0, 30.0]),  # max_wait_s
)
SLOW_DOWN = st.tuples(st.just("slow_down"), st.sampled_from([None, 0.0, 0.5, 2.5, 90.0]))
BUDGET_OPS = st.lists(
    st.tuples(STEPS, st.one_of(TAKE, TAKE, TAKE, SLOW_DOWN), st.booleans()), max_size=60
)


@PROPERTY
@example(  # one person's two calls, then another's: served in turn, not by arrival
    rate=1,
    burst=1,
    callers=[("t1", "ann", "bulk"), ("t2", "ann", "bulk"), ("t3", "bob", "bulk")],
    ops=[(0, ("take", n, 1, 30.0), False) for n in (0, 0, 1, 2, 1, 2)],
)
@example(  # one person's lookups are served lookup by lookup: t1's second call before t2's
    rate=1,
    burst=1,
    callers=[("t9", "bob", "decision"), *[("t1", "ann", "bulk"), ("t2", "ann", "bulk")] * 2],
    ops=[(0, ("take", n, 1, 30.0), False) for n in (0, 1, 2, 3, 4)],
)
@given(
    rate=st.sampled_from([1, 2.5, 5.0, 8]),
    burst=st.sampled_from([1, 2, 5, 10]),
    callers=CALLERS,
    ops=BUDGET_OPS,
)
def test_the_budget_script_grants_what_the_python_rule_grants(
    rate: float, burst: int, callers: list[tuple[str, str, Any]], ops: list[Any]
) -> None:
    clock, key, mixed_key = Clock(START), uuid.uuid4().hex, uuid.uuid4().hex
    memory = MemoryState(clock)
    spec = LineLimiter(memory, key, rate, burst)
    lua = RedisRateLimiter(REDIS_URL, key, rate, burst, clock=clock)
    # A key some of whose updates the Python rule makes over Redis (an older worker's way).
    python = LineLimiter(RedisState(REDIS_URL, BUDGET_PREFIX, clock), mixed_key, rate, burst)
    mixed = RedisRateLimiter(REDIS_URL, mixed_key, rate, burst, clock=clock)
    line = [Caller(f"call{n}", *who) for n, who in enumerate(callers)]
    for step, op, by_python in ops:
        clock.advance(step / 1e6)
        either = python if by_python else mixed
        if op[0] == "take":
            _, n, want, max_wait_s = op
            caller = line[n % len(line)]
            expected = spec.take(want, max_wait_s, caller)
            assert lua.take(want, max_wait_s, caller) == expected
            assert either.take(want, max_wait_s, caller) == expected
        else:
            expected_rate = spec.slow_down(op[1])
            assert lua.slow_down(op[1]) == expected_rate
            assert either.slow_down(op[1]) == expected_rate
    if ops:
        expected_state = json.loads(memory.states[key])
        assert _stored(f"{BUDGET_PREFIX}:{key}") == expected_state
        assert _stored(f"{BUDGET_PREFIX}:{mixed_key}") == expected_state


# Lookup ids that tie on arrival time are ordered by id: as Python orders str (code points).
LOOKUPS = st.sampled_from(["a", "b", "B", "ab", "é", "z9", "日本"])
INFLIGHT_STEPS = st.sampled_from(
    [0, 0, 0, 1, 100_000, 600_000, 10_000_000, int(GRACE_S * 1e6), int(RUNNING_S * 1e6) + 1]
)
INFLIGHT_OPS = st.lists(
    st.tuples(
        INFLIGHT_STEPS,
        st.sampled_from(["enter", "enter", "leave"]),
        st.sampled_from(["ann", "bob"]),
        LOOKUPS,
        st.booleans(),
    ),
    max_size=60,
)


@PROPERTY
@example(  # three arrive at once: the one with the lowest id is ahead
    cap=1, ops=[(0, "enter", "ann", lookup, False) for lookup in ("z9", "é", "B", "ab", "é")]
)
@given(cap=st.integers(0, 3), ops=INFLIGHT_OPS)
def test_the_inflight_script_admits_what_the_python_rule_admits(cap: int, ops: list[Any]) -> None:
    clock, space = Clock(START), uuid.uuid4().hex
    memory = MemoryState(clock)
    spec = InFlight(memory, cap)
    lua = RedisInFlight(REDIS_URL, cap, clock=clock)
    python = InFlight(RedisState(REDIS_URL, PREFIX, clock), cap)  # mixed with Lua on "mixed"
    for step, op, who, lookup, by_python in ops:
        clock.advance(step / 1e6)
        person = f"{space}-{who}"
        either = python if by_python else lua
        if op == "enter":
            expected = spec.enter(person, lookup)
            assert lua.enter(person, lookup) == expected
            assert either.enter(f"{person}-mixed", lookup) == expected
        else:
            spec.leave(person, lookup)
            lua.leave(person, lookup)
            either.leave(f"{person}-mixed", lookup)
    for person, state in memory.states.items():
        assert _stored(f"{PREFIX}:{person}") == json.loads(state)
        assert _stored(f"{PREFIX}:{person}-mixed") == json.loads(state)


def test_the_scripts_keep_their_state_keep_s_past_the_last_update() -> None:
    import redis

    server = redis.Redis.from_url(REDIS_URL)
    key = uuid.uuid4().hex
    RedisRateLimiter(REDIS_URL, key, rate=5, burst=5).take()
    RedisInFlight(REDIS_URL, 1).enter(key, "lookup")
    for name in (f"{BUDGET_PREFIX}:{key}", f"{PREFIX}:{key}"):
        assert KEEP_S * 1000 - 5_000 < server.pttl(name) <= KEEP_S * 1000


def test_without_a_clock_the_scripts_use_redis_time() -> None:
    import redis

    seconds, micros = redis.Redis.from_url(REDIS_URL).time()
    lua = RedisInFlight(REDIS_URL, 1)
    person = uuid.uuid4().hex
    lua.enter(person, "first")
    until = _stored(f"{PREFIX}:{person}")["running"]["first"]
    assert 0 <= until - RUNNING_S - (seconds + micros / 1e6) < 5
    assert not lua.enter(person, "second").admitted  # and both sides agree on it
