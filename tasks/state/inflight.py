"""Each person's lookups in flight, capped across every worker: one person's hundred DMs
take turns among themselves instead of a hundred worker threads and budget slots.

A lookup over the cap is not run: it keeps its place in its person's own queue (first come,
first served) and its task comes back later (`retry_in`), its reply still owed. Places are
leases, so a worker that dies mid-lookup frees its place after `RUNNING_S`, and a lookup
that never came back frees its place in the queue after its retry was due.

Kept like the Ekuaibao budget (`tasks.ekuaibao.budget_store.SharedState`): one JSON state
per person, updated atomically in Redis (each update one Lua script, `inflight.lua`, the
rule below run on the server), else in SQLite under STATE_DIR.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from tasks.ekuaibao.budget_redis import RedisState
from tasks.ekuaibao.budget_sqlite import SQLiteState
from tasks.ekuaibao.budget_store import SharedState
from tasks.ekuaibao.redis_lua import lua_source

#: A lookup counts as in flight at most this long (a worker that died frees its place).
RUNNING_S = 120.0
#: A waiting lookup keeps its place this long past the time it was told to come back.
GRACE_S = 30.0
#: A waiting lookup comes back after this long for each of its person's lookups ahead of
#: it per place (about one lookup's time at a busy budget), at most `MAX_RETRY_S`.
RETRY_STEP_S = 0.5
MAX_RETRY_S = 10.0
PREFIX = "invoicebot:inflight"
SCRIPT = lua_source(
    __package__ or "tasks.state",
    "inflight.lua",
    {
        "RUNNING_S": RUNNING_S,
        "GRACE_S": GRACE_S,
        "RETRY_STEP_S": RETRY_STEP_S,
        "MAX_RETRY_S": MAX_RETRY_S,
    },
)


class Admission(NamedTuple):
    """`admitted`: go ahead, with `others` of the person's lookups in flight beside it.
    Not admitted: `ahead` of their own lookups go first; come back in `retry_in` s."""

    admitted: bool
    others: int = 0
    ahead: int = 0
    retry_in: float = 0.0


def enter(state: dict[str, Any], lookup: str, now: float, cap: int) -> Admission:
    """The rule (pure): may `lookup` run now, given the person's `state`?"""
    running: dict[str, float] = state.setdefault("running", {})
    queue: dict[str, list[float]] = state.setdefault("waiting", {})  # id -> [since, until]
    for done in [k for k, until in running.items() if until < now]:
        del running[done]
    for gone in [k for k, (_, until) in queue.items() if until < now]:
        del queue[gone]
    if lookup in running:  # a redelivery of one already running
        running[lookup] = now + RUNNING_S
        return Admission(True, len(running) - 1)
    place = queue.setdefault(lookup, [now, now + GRACE_S])
    ahead = len(running) + sum(1 for k, v in queue.items() if (v[0], k) < (place[0], lookup))
    if ahead < cap:
        del queue[lookup]
        running[lookup] = now + RUNNING_S
        return Admission(True, len(running) - 1)
    retry_in = min(MAX_RETRY_S, RETRY_STEP_S * (1 + (ahead - cap) // max(1, cap)))
    place[1] = now + retry_in + GRACE_S
    return Admission(False, ahead=ahead, retry_in=retry_in)


def leave(state: dict[str, Any], lookup: str) -> None:
    state.get("running", {}).pop(lookup, None)
    state.get("waiting", {}).pop(lookup, None)


class InFlight:
    """The cap of `per_person` lookups at once, over a shared store."""

    def __init__(self, state: SharedState, per_person: int) -> None:
        self._state, self._cap = state, max(1, per_person)

    def enter(self, person: str, lookup: str) -> Admission:
        return self._state.update(person, lambda s, now: enter(s, lookup, now, self._cap))

    def leave(self, person: str, lookup: str) -> None:
        self._state.update(person, lambda s, _now: leave(s, lookup))


class RedisInFlight(InFlight):
    """The cap in Redis: each `enter` and `leave` one script (the rule above, on the server).
    `clock`: a test's clock instead of Redis's."""

    def __init__(
        self, redis_url: str, per_person: int, clock: Callable[[], float] | None = None
    ) -> None:
        state = RedisState(redis_url, PREFIX, clock)
        super().__init__(state, per_person)
        self._run = state.script(SCRIPT)

    def enter(self, person: str, lookup: str) -> Admission:
        admitted, others, ahead, retry_in = self._run(person, ["enter", lookup, str(self._cap)])
        return Admission(bool(admitted), int(others), int(ahead), float(retry_in))

    def leave(self, person: str, lookup: str) -> None:
        self._run(person, ["leave", lookup])


def make_inflight(redis_url: str | None, state_dir: Path, per_person: int) -> InFlight:
    if redis_url:
        return RedisInFlight(redis_url, per_person)
    return InFlight(SQLiteState(state_dir / "inflight.sqlite3"), per_person)
