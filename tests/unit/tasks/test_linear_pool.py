"""The Ekuaibao connection pool makes httpcore's decisions, in time linear in its size."""

import httpcore
import httpx
from httpcore._sync.connection_pool import PoolRequest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.lean_http import LinearConnectionPool, http_transport

HERE = httpcore.URL("http://ekb.test/x").origin
THERE = httpcore.URL("http://other.test/x").origin


class Fake(httpcore.ConnectionInterface):
    """A connection that only reports its state; counts how often it was asked."""

    def __init__(self, name: str, state: tuple[bool, bool, bool, bool, bool]) -> None:
        self.name = name
        self.closed, self.expired, self.idle, self.available, self.here = state
        self.asked = 0

    def is_closed(self) -> bool:
        return self.closed

    def has_expired(self) -> bool:
        return self.expired

    def is_idle(self) -> bool:
        self.asked += 1
        return self.idle

    def is_available(self) -> bool:
        return self.available

    def can_handle_request(self, origin: httpcore.Origin) -> bool:
        return (origin == HERE) == self.here

    def __repr__(self) -> str:
        return self.name


def _pool(cls, states, queued, max_connections, keepalive):
    pool = cls(max_connections=max_connections, max_keepalive_connections=keepalive)
    made = iter(range(1000))
    pool.create_connection = lambda origin: Fake(f"new{next(made)}", (False,) * 5)
    pool._connections = [Fake(f"c{i}", s) for i, s in enumerate(states)]
    for here in queued:
        url = "http://ekb.test/x" if here else "http://other.test/x"
        pool._requests.append(PoolRequest(httpcore.Request("GET", url)))
    return pool


def _outcome(pool, closing):
    return (
        [repr(c) for c in closing],
        [repr(c) for c in pool._connections],
        [repr(r.connection) for r in pool._requests],
    )


state = st.tuples(*[st.booleans()] * 5)


@settings(max_examples=300, deadline=None)
@given(
    states=st.lists(state, max_size=12),
    queued=st.lists(st.booleans(), max_size=4),
    max_connections=st.integers(1, 14),
    keepalive=st.integers(0, 14),
)
def test_the_same_decisions_as_httpcore(states, queued, max_connections, keepalive) -> None:
    theirs = _pool(httpcore.ConnectionPool, states, queued, max_connections, keepalive)
    ours = _pool(LinearConnectionPool, states, queued, max_connections, keepalive)
    expected = _outcome(theirs, theirs._assign_requests_to_connections())
    assert _outcome(ours, ours._assign_requests_to_connections()) == expected


def test_each_connection_is_asked_a_few_times_not_once_per_other_connection() -> None:
    idle = [(False, False, True, True, True)] * 200
    theirs = _pool(httpcore.ConnectionPool, idle, [True], 400, 400)
    ours = _pool(LinearConnectionPool, idle, [True], 400, 400)
    theirs._assign_requests_to_connections()
    ours._assign_requests_to_connections()
    assert sum(c.asked for c in theirs._connections) > 200 * 200
    assert sum(c.asked for c in ours._connections) <= 2 * 200


def test_the_transport_uses_it_with_the_limits_asked_for() -> None:
    transport = http_transport(httpx.Limits(max_connections=7, max_keepalive_connections=3))
    pool = transport._pool
    assert type(pool) is LinearConnectionPool
    assert (pool._max_connections, pool._max_keepalive_connections) == (7, 3)


class Counted(Fake):
    def has_expired(self) -> bool:
        self.checked = getattr(self, "checked", 0) + 1
        return self.expired


def test_between_sweeps_only_the_connection_reused_is_checked_and_an_expired_one_is_not_used(
    monkeypatch,
) -> None:
    clock = iter([100.0, 100.5, 100.6, 101.2])
    monkeypatch.setattr("tasks.lean_http.time.monotonic", lambda: next(clock))
    pool = _pool(LinearConnectionPool, [], [], 10, 10)
    pool._connections = [Counted(f"c{i}", (False, False, True, True, True)) for i in range(5)]
    pool._assign_requests_to_connections()  # the sweep: every idle connection asked
    assert [c.checked for c in pool._connections] == [1] * 5

    pool._connections[0].expired = True  # the server closed it since
    pool._requests.append(PoolRequest(httpcore.Request("GET", "http://ekb.test/x")))
    closing = pool._assign_requests_to_connections()
    assert [repr(c) for c in closing] == ["c0"]
    assert repr(pool._requests[0].connection) == "c1"
    assert [c.checked for c in pool._connections] == [2, 1, 1, 1]

    pool._requests.clear()
    pool._assign_requests_to_connections()  # a request ended: nobody asked
    assert [c.checked for c in pool._connections] == [2, 1, 1, 1]
    pool._connections[2].expired = True  # c3
    assert [repr(c) for c in pool._assign_requests_to_connections()] == ["c3"]  # next sweep
