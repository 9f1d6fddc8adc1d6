"""The shared state of the Ekuaibao budget kept in Redis, for the worker processes of every
host, timed by Redis's own clock so that hosts need not agree on theirs.

The budget's `take` and `slow_down` are each one Lua script (`budget.lua`): the rule of
`budget_store.LineLimiter` and `line`, run atomically on the server, so the callers of a
busy tenant queue in Redis instead of failing each other's transactions. The script keeps
the JSON state the Python rule keeps, exactly, so workers running either can share it.

`RedisState` is the generic store (`SharedState`) for a rule without a script: each update
an optimistic transaction (WATCH, then MULTI/EXEC, tried again when another process wrote
first). Within one process the updates of one key take turns (a striped lock per key), so
only other processes conflict. After WATCH redis-py sends each command on its own
(immediate mode), so its read costs WATCH, GET and TIME.
"""

from __future__ import annotations

import json
import threading
import uuid
import zlib
from collections.abc import Callable
from typing import Any, TypeVar

from tasks.ekuaibao import line
from tasks.ekuaibao.budget import (
    CUT_EVERY_S,
    MAX_WAIT_S,
    MIN_FRACTION,
    MIN_RATE,
    QUIET_S,
    RAMP_S,
)
from tasks.ekuaibao.budget_store import KEEP_S
from tasks.ekuaibao.line import Caller, Grant
from tasks.ekuaibao.redis_lua import lua_number, lua_source
from tasks.shared_redis import shared_redis

T = TypeVar("T")
#: Another process wrote between our read and our write this many times in a row: give up
#: (the caller sees a state error and tries its task again shortly).
MAX_CONFLICTS = 200
#: Locks shared by the keys of one process (a key always takes the same one).
LOCK_STRIPES = 64
BUDGET_PREFIX = "invoicebot:ekuaibao-line"
BUDGET_SCRIPT = lua_source(
    __package__ or "tasks.ekuaibao",
    "budget.lua",
    {
        "PRIORITY": {name: n for n, name in enumerate(line.PRIORITIES)},
        "RESERVE": {name: share for name, share in line.RESERVE.items()},
        "STALE_S": line.STALE_S,
        "QUIET_S": QUIET_S,
        "RAMP_S": RAMP_S,
        "CUT_EVERY_S": CUT_EVERY_S,
        "MIN_RATE": MIN_RATE,
        "MIN_FRACTION": MIN_FRACTION,
    },
)


class RedisState:
    """`clock`: a test's clock instead of Redis's (for this store and its scripts)."""

    def __init__(
        self, redis_url: str, prefix: str, clock: Callable[[], float] | None = None
    ) -> None:
        self._redis = shared_redis(redis_url)
        self._prefix = prefix
        self._clock = clock
        self._locks = [threading.Lock() for _ in range(LOCK_STRIPES)]

    def name(self, key: str) -> str:
        """The Redis key that holds `key`'s state."""
        return f"{self._prefix}:{key}"

    def script(self, source: str) -> Callable[[str, list[str]], Any]:
        """`source` as `run(key, args)`, with the clock as its first argument."""
        script = self._redis.register_script(source)

        def run(key: str, args: list[str]) -> Any:
            now = "" if self._clock is None else lua_number(self._clock())
            return script(keys=[self.name(key)], args=[args[0], now, *args[1:]])

        return run

    def update(self, key: str, change: Callable[[dict[str, Any], float], T]) -> T:
        import redis

        name = self.name(key)
        lock = self._locks[zlib.crc32(name.encode()) % LOCK_STRIPES]
        with lock, self._redis.pipeline() as pipe:
            for _ in range(MAX_CONFLICTS):
                try:
                    pipe.watch(name)  # type: ignore[no-untyped-call]
                    raw = pipe.get(name)
                    if self._clock is None:
                        seconds, micros = pipe.time()
                        now = seconds + micros / 1e6
                    else:
                        now = self._clock()
                    state: dict[str, Any] = json.loads(raw) if raw else {}
                    result = change(state, now)
                    pipe.multi()
                    pipe.set(name, json.dumps(state, separators=(",", ":")), px=int(KEEP_S * 1000))
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue
        raise redis.exceptions.ConnectionError(f"{name}: too many conflicting writers")


class RedisRateLimiter:
    """The budget in Redis, for the workers of every host: `rate` calls per second, bursts
    of `burst`, each `take` and `slow_down` one script."""

    def __init__(
        self,
        redis_url: str,
        key: str,
        rate: float,
        burst: int,
        clock: Callable[[], float] | None = None,
    ) -> None:
        state = RedisState(redis_url, BUDGET_PREFIX, clock)
        self._run = state.script(BUDGET_SCRIPT)
        self._key = key
        self._limits = [lua_number(rate), lua_number(burst)]

    def take(
        self, want: int = 1, max_wait_s: float = MAX_WAIT_S, caller: Caller | None = None
    ) -> Grant:
        """`caller`: who waits (without one, a one-off caller that never asks again)."""
        who = caller or Caller(uuid.uuid4().hex)
        args = [str(want), lua_number(max_wait_s), who.call, who.ticket, who.who, who.priority]
        granted, wait_s, ahead, queued = self._run(self._key, ["take", *self._limits, *args])
        return Grant(int(granted), float(wait_s), int(ahead), bool(queued))

    def slow_down(self, retry_after_s: float | None) -> float:
        hold = min(retry_after_s or 0.0, MAX_WAIT_S)
        rate = self._run(self._key, ["slow_down", *self._limits, lua_number(hold)])
        return float(rate)
